"""The history as CSV for a Russian spreadsheet."""

from __future__ import annotations

from visits.export.document import HistoryDocument
from visits.export.spreadsheet import csv_text

CSV_HEADER = (
    "Дата и время (Новосибирск)",
    "Событие",
    "Вид",
    "Кто",
    "Канал",
    "Описание",
    "Текст сообщения",
    "Запись",
    "Талон",
)


def render_csv(document: HistoryDocument) -> bytes:
    """The document as semicolon-separated UTF-8 with a BOM, safe to open in a spreadsheet."""
    rows = (
        (
            row.at_local,
            row.label,
            row.kind,
            row.actor,
            row.channel_label,
            row.summary,
            row.message,
            row.booking_id or "",
            row.ticket_id or "",
        )
        for row in document.rows
    )
    # A BOM: a Russian spreadsheet reads the file as UTF-8.
    return csv_text(CSV_HEADER, rows).encode("utf-8-sig")
