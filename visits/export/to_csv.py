"""The history as CSV for a Russian spreadsheet."""

from __future__ import annotations

import csv
import io

from visits.export.document import HistoryDocument

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
    """The document as semicolon-separated UTF-8 with a BOM."""
    out = io.StringIO()
    # Semicolons and a BOM: a Russian spreadsheet opens the file as it is.
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in document.rows:
        writer.writerow(
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
        )
    return out.getvalue().encode("utf-8-sig")
