"""Handing a client the whole interaction history on request (§4).

Formats: PDF (fpdf2 with a Cyrillic TTF font), HTML for the browser's print,
JSON (visits/schemas/history.schema.json) and CSV; or sent by the client's
channel through the outbox. Each export is itself a history entry
(HISTORY_EXPORTED) and an audit row. The texts come from the entries as they
were written at the time: ticket numbers, rooms, staff names and message texts
are copied into the entries, not joined now.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment
from sqlmodel import Session

from visits.calendar import WorkCalendar, utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput, RuleViolation
from visits.models import (
    CHANNEL_LABELS,
    HISTORY_LABELS,
    Channel,
    Client,
    HistoryEntry,
    HistoryKind,
    MessageKind,
    OutgoingMessage,
    Staff,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText
from visits.queries.history import history_entries, history_require_access
from visits.rules import RETENTION_YEARS
from visits.services.clients import phone_display
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "history.schema.json"
FONT_NAME = "DejaVuSans.ttf"
# The font shipped with the package first (a clean machine), then Debian's fonts-dejavu-core.
FONT_PATHS = (
    Path(__file__).resolve().parent.parent / "fonts" / FONT_NAME,
    Path("/usr/share/fonts/truetype/dejavu") / FONT_NAME,
)
# The outbox keeps at most 8000 characters of a message body.
_SEND_LIMIT = 7000
# "+7 913 123-45-67" and "+79131234567" inside history texts.
_PHONE = re.compile(r"\+7[\s()\-]*(?:\d[\s()\-]*){9}\d")


def _mask_phones(text: str) -> str:
    """A message crosses gateways and logs: phone numbers in it keep only the last digits."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return f"+7 *** ***-{digits[-4:-2]}-{digits[-2:]}"

    return _PHONE.sub(mask, text)


class ExportFormat(StrEnum):
    PDF = "pdf"
    HTML = "html"
    JSON = "json"
    CSV = "csv"


FORMAT_LABELS = {
    ExportFormat.PDF: "PDF",
    ExportFormat.HTML: "HTML для печати",
    ExportFormat.JSON: "JSON",
    ExportFormat.CSV: "CSV",
}
_MEDIA_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class ExportedHistory:
    filename: str
    media_type: str
    content: bytes
    entries: int


@dataclass(frozen=True)
class _Row:
    id: int
    at: datetime
    at_local: str
    kind: str
    label: str
    actor: str
    channel: str | None
    channel_label: str
    summary: str
    message: str
    booking_id: int | None
    ticket_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class _Document:
    office: str
    client: Client
    generated_at_local: str
    generated_by: str
    rows: list[_Row]

    @property
    def phone(self) -> str:
        return phone_display(self.client.phone)

    @property
    def channels(self) -> str:
        return ", ".join(CHANNEL_LABELS[Channel(c)] for c in self.client.channels)


def _row(entry: HistoryEntry, calendar: WorkCalendar) -> _Row:
    assert entry.id is not None
    channel_label = ""
    if entry.channel and entry.channel in {c.value for c in Channel}:
        channel_label = CHANNEL_LABELS[Channel(entry.channel)]
    body = entry.data.get("body") if isinstance(entry.data, dict) else None
    return _Row(
        id=entry.id,
        at=entry.at,
        at_local=calendar.to_local(entry.at).strftime("%d.%m.%Y %H:%M"),
        kind=entry.kind,
        label=HISTORY_LABELS.get(entry.kind, entry.kind),
        actor=entry.actor,
        channel=entry.channel,
        channel_label=channel_label,
        summary=entry.summary,
        message=body if isinstance(body, str) else "",
        booking_id=entry.booking_id,
        ticket_id=entry.ticket_id,
        data=dict(entry.data or {}),
    )


def _document(session: Session, calendar: WorkCalendar, staff: Staff, client: Client) -> _Document:
    assert client.id is not None
    entries = history_entries(session, client_id=client.id, calendar=calendar)
    return _Document(
        office=calendar.config.office.name,
        client=client,
        generated_at_local=calendar.local_now().strftime("%d.%m.%Y %H:%M"),
        generated_by=staff.full_name,
        rows=[_row(e, calendar) for e in entries],
    )


def history_export(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    client_id: int,
    fmt: str,
) -> ExportedHistory:
    """Produce the client's whole history as a file and record the export (§4)."""
    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        raise InvalidInput("Выберите формат: PDF, HTML, JSON или CSV.", field="format") from None
    client = history_require_access(session, staff=staff, client_id=client_id)
    document = _document(session, calendar, staff, client)
    content = _RENDERERS[chosen](document)
    with write_transaction(session):
        _record_export(
            session,
            staff=staff,
            client_id=client_id,
            how=FORMAT_LABELS[chosen],
            count=len(document.rows),
            data={"format": chosen.value},
        )
    log.info(
        "history of client %s exported as %s by %s (%s entries)",
        client_id,
        chosen.value,
        staff.login,
        len(document.rows),
    )
    day = calendar.local_now().strftime("%Y-%m-%d")
    return ExportedHistory(
        filename=f"history-client-{client_id}-{day}.{chosen.value}",
        media_type=_MEDIA_TYPES[chosen],
        content=content,
        entries=len(document.rows),
    )


def _record_export(
    session: Session,
    *,
    staff: Staff,
    client_id: int,
    how: str,
    count: int,
    data: dict[str, Any],
    channel: str | None = None,
) -> None:
    history_record(
        session,
        client_id=client_id,
        kind=HistoryKind.HISTORY_EXPORTED,
        staff=staff,
        channel=channel,
        summary=f"История взаимодействия выдана клиенту: {how}, событий: {count}.",
        data={**data, "entries": count},
    )
    audit_record(
        session,
        staff=staff,
        action="history.export",
        client_id=client_id,
        details=f"Выдача истории: {how}, событий: {count}",
    )


def history_send(
    *, session: Session, calendar: WorkCalendar, staff: Staff, client_id: int
) -> list[OutgoingMessage]:
    """Send the history as text by the client's channel(s) through the outbox (§3, §4)."""
    client = history_require_access(session, staff=staff, client_id=client_id)
    if client.consent_withdrawn_at is not None:
        raise RuleViolation(
            "Клиент отозвал согласие: сообщения ему не отправляются. "
            "Выдайте историю на бумаге или файлом.",
            code="consent_withdrawn",
        )
    if not set(client.channels) & {Channel.SMS.value, Channel.EMAIL.value}:
        raise RuleViolation(
            "Клиент выбрал связь только звонком: историю по телефону не передать. "
            "Распечатайте её или выдайте файлом.",
            code="no_written_channel",
        )
    document = _document(session, calendar, staff, client)
    text = _message_text(document, calendar)
    with write_transaction(session):
        rows = message_queue(
            session, client=client, kind=MessageKind.HISTORY_EXPORT, text=text, staff=staff
        )
        _record_export(
            session,
            staff=staff,
            client_id=client_id,
            how="отправлена по каналу связи клиента",
            count=len(document.rows),
            data={"format": "message", "channels": client.channels},
            channel=client.channel,
        )
    log.info(
        "history of client %s sent by %s (phone=%s)",
        client_id,
        ",".join(client.channels),
        client.masked_phone,
    )
    return rows


def _message_text(document: _Document, calendar: WorkCalendar) -> MessageText:
    office = calendar.config.office
    lines = [_mask_phones(f"{row.at_local} — {row.label}. {row.summary}") for row in document.rows]
    head = (
        f"{document.client.address_name}, по вашей просьбе направляем историю вашего "
        f"взаимодействия с департаментом: событий {len(lines)}."
    )
    body_lines: list[str] = []
    size = len(head)
    # The newest events first fit the limit; the note says where to get the rest.
    for line in reversed(lines):
        if size + len(line) + 1 > _SEND_LIMIT:
            break
        body_lines.insert(0, line)
        size += len(line) + 1
    parts = [head, *body_lines]
    if len(body_lines) < len(lines):
        parts.append(
            f"Показаны последние {len(body_lines)} событий из {len(lines)}. Всю историю "
            f"документом выдадут в департаменте: {office.address}; телефон "
            f"{' или '.join(office.phones)}."
        )
    return MessageText(subject="История взаимодействия с департаментом", body="\n".join(parts))


# --- JSON --------------------------------------------------------------------------------


def _json(document: _Document) -> dict[str, Any]:
    client = document.client
    return {
        "schema_version": SCHEMA_VERSION,
        "office": document.office,
        "generated_at": utcnow().isoformat(),
        "generated_by": document.generated_by,
        "time_zone": "Asia/Novosibirsk",
        "retention_years": RETENTION_YEARS,
        "client": {
            "id": client.id,
            "full_name": client.full_name,
            "surname": client.surname,
            "first_name": client.first_name,
            "patronymic": client.patronymic,
            "phone": client.phone,
            "email": client.email,
            "channels": client.channels,
            "consent_at": client.consent_at.isoformat(),
            "consent_withdrawn_at": client.consent_withdrawn_at.isoformat()
            if client.consent_withdrawn_at
            else None,
        },
        "entries": [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "at_local": row.at_local,
                "kind": row.kind,
                "label": row.label,
                "actor": row.actor,
                "channel": row.channel,
                "summary": row.summary,
                "message": row.message or None,
                "booking_id": row.booking_id,
                "ticket_id": row.ticket_id,
                "data": row.data,
            }
            for row in document.rows
        ],
    }


def _render_json(document: _Document) -> bytes:
    return json.dumps(_json(document), ensure_ascii=False, indent=2).encode()


def history_schema() -> dict[str, Any]:
    """The JSON Schema the JSON export follows."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


# --- CSV ---------------------------------------------------------------------------------

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


def _render_csv(document: _Document) -> bytes:
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


# --- HTML --------------------------------------------------------------------------------

_HTML = """<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>История взаимодействия — {{ d.client.full_name }}</title>
<style>
  body { font: 14px/1.45 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 2rem auto;
         max-width: 60rem; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
  .muted { color: #555; }
  dl { display: grid; grid-template-columns: 14rem 1fr; gap: .2rem 1rem; }
  dt { color: #555; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #ccc;
           padding: .4rem .5rem; }
  th { background: #eee; }
  td.when { white-space: nowrap; }
  .message { white-space: pre-line; color: #333; font-size: .92em; margin-top: .3rem;
             border-left: 3px solid #ccc; padding-left: .5rem; }
  .print { font-size: 1rem; padding: .6rem 1.2rem; min-height: 44px; }
  @media print { .print { display: none; } body { margin: 0; max-width: none; } }
</style>
</head>
<body>
<button class="print" type="button" onclick="window.print()">Печать</button>
<h1>История взаимодействия</h1>
<p class="muted">{{ d.office }}</p>
<dl>
  <dt>Клиент</dt><dd>{{ d.client.full_name }}</dd>
  <dt>Телефон</dt><dd>{{ d.phone }}</dd>
  {% if d.client.email %}<dt>Электронная почта</dt><dd>{{ d.client.email }}</dd>{% endif %}
  <dt>Способ связи</dt><dd>{{ d.channels }}</dd>
  <dt>Выдано</dt><dd>{{ d.generated_at_local }}, {{ d.generated_by }}</dd>
  <dt>Событий</dt><dd>{{ d.rows|length }}</dd>
</dl>
<p class="muted">Время — новосибирское. Тексты событий и сообщений приведены так, как они были
записаны в момент события. История хранится пять лет (§4 порядка).</p>
<table>
  <thead><tr><th>Когда</th><th>Событие</th><th>Кто</th><th>Подробности</th></tr></thead>
  <tbody>
  {% for r in d.rows %}
  <tr id="entry-{{ r.id }}" data-kind="{{ r.kind }}">
    <td class="when">{{ r.at_local }}</td>
    <td>{{ r.label }}{% if r.channel_label %}<br><span class="muted">{{ r.channel_label }}</span>{% endif %}</td>
    <td>{{ r.actor }}</td>
    <td>{{ r.summary }}{% if r.message %}<div class="message">{{ r.message }}</div>{% endif %}</td>
  </tr>
  {% else %}
  <tr><td colspan="4">Событий нет.</td></tr>
  {% endfor %}
  </tbody>
</table>
</body>
</html>
"""

_jinja = Environment(autoescape=True)
_html_template = _jinja.from_string(_HTML)


def _render_html(document: _Document) -> bytes:
    return _html_template.render(d=document).encode()


# --- PDF ---------------------------------------------------------------------------------


def pdf_font_path() -> Path:
    """The Cyrillic TTF for PDFs: $PRIYOM_PDF_FONT, the shipped DejaVu Sans, or Debian's."""
    override = os.environ.get("PRIYOM_PDF_FONT")
    candidates = (Path(override), *FONT_PATHS) if override else FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    raise RuntimeError(
        "No Cyrillic font for PDF: install fonts-dejavu-core or set PRIYOM_PDF_FONT to a TTF file"
    )


class _HistoryPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"Страница {self.page_no()} из {{nb}}", align="C")


def _render_pdf(document: _Document) -> bytes:
    pdf = _HistoryPdf(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", fname=str(pdf_font_path()))
    pdf.set_title(f"История взаимодействия — {document.client.full_name}")
    pdf.set_author(document.office)
    pdf.set_creator("Приём")
    pdf.add_page()

    def line(text: str, size: float = 10, height: float = 5, gray: int = 0) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.set_text_color(gray)
        pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line("История взаимодействия", size=16, height=8)
    line(document.office, size=9, gray=90)
    pdf.ln(2)
    client = document.client
    line(f"Клиент: {client.full_name}", size=11, height=6)
    line(f"Телефон: {document.phone}")
    if client.email:
        line(f"Электронная почта: {client.email}")
    line(f"Способ связи: {document.channels}")
    line(f"Выдано: {document.generated_at_local}, {document.generated_by}")
    line(f"Событий: {len(document.rows)}. Время новосибирское.", gray=90)
    pdf.ln(3)
    if not document.rows:
        line("Событий нет.")
    for row in document.rows:
        pdf.set_draw_color(200)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1)
        line(f"{row.at_local} · {row.label}", size=10.5, height=5.5)
        who = row.actor + (f" · {row.channel_label}" if row.channel_label else "")
        if who:
            line(who, size=8.5, height=4.5, gray=90)
        line(row.summary, size=9.5)
        if row.message:
            line(row.message, size=8.5, height=4.5, gray=60)
        pdf.ln(1.5)
    return bytes(pdf.output())


_RENDERERS = {
    ExportFormat.PDF: _render_pdf,
    ExportFormat.HTML: _render_html,
    ExportFormat.JSON: _render_json,
    ExportFormat.CSV: _render_csv,
}
