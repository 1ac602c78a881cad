"""Handing a client the whole interaction history on request (§4): the use case.

As a file (the renderers, one module per format, are in visits.export) or sent
by the client's channel through the outbox. Each export is itself a history
entry (HISTORY_EXPORTED) and an audit row. The texts come from the entries as
they were written at the time: ticket numbers, rooms, staff names and message
texts are copied into the entries, not joined now.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.errors import InvalidInput, RuleViolation
from visits.export import FORMAT_LABELS, MEDIA_TYPES, ExportFormat, export_render
from visits.export.document import HistoryDocument, HistoryRow, history_row
from visits.export.to_json import history_schema as history_schema
from visits.models import (
    Channel,
    Client,
    HistoryEntry,
    HistoryKind,
    MessageKind,
    OutgoingMessage,
    Staff,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText, phones_phrase, survey_line
from visits.phones import phone_display
from visits.queries.history import (
    ReminderNote,
    history_entries,
    history_reminder_notes,
    history_require_access,
)
from visits.ru import plural
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class ExportedHistory:
    filename: str
    media_type: str
    content: bytes
    entries: int


def _document(
    session: Session, calendar: WorkCalendar, staff: Staff, client: Client
) -> HistoryDocument:
    assert client.id is not None
    entries = history_entries(session, client_id=client.id, calendar=calendar)
    # §30: a reminder reads as on the client card, in the same words (history_reminder_notes).
    reminders = history_reminder_notes(session, entries, calendar=calendar)
    return HistoryDocument(
        office=calendar.config.office.name,
        client=client,
        phone=phone_display(client.phone),
        generated_at_local=calendar.local_now().strftime("%d.%m.%Y %H:%M"),
        generated_by=staff.full_name,
        rows=[_row(e, calendar, reminders) for e in entries],
        time_zone_label=calendar.config.office.time_zone_label,
    )


def _row(
    entry: HistoryEntry, calendar: WorkCalendar, reminders: dict[int, ReminderNote]
) -> HistoryRow:
    note = reminders.get(entry.id) if entry.id is not None else None
    if note is None:
        return history_row(entry, calendar)
    return history_row(entry, calendar, label=note.heading, summary=note.state)


def history_export(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    client_id: int,
    fmt: str,
    pdf_font: Path | None = None,
) -> ExportedHistory:
    """Produce the client's whole history as a file and record the export (§4)."""
    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        raise InvalidInput("Выберите формат: PDF, HTML, JSON или CSV.", field="format") from None
    client = history_require_access(session, staff=staff, client_id=client_id)
    document = _document(session, calendar, staff, client)
    content = export_render(document, chosen, pdf_font=pdf_font)
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
        media_type=MEDIA_TYPES[chosen],
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


def _message_text(document: HistoryDocument, calendar: WorkCalendar) -> MessageText:
    config = calendar.config
    office = config.office
    survey = survey_line(config)
    lines = [_mask_phones(f"{row.at_local} — {row.label}. {row.summary}") for row in document.rows]
    head = (
        f"{document.client.address_name}, по вашей просьбе направляем историю вашего "
        f"взаимодействия с департаментом: событий {len(lines)}."
    )
    body_lines: list[str] = []
    size = len(head) + len(survey)
    # The newest events first fit the limit; the note says where to get the rest.
    for line in reversed(lines):
        if size + len(line) + 1 > _SEND_LIMIT:
            break
        body_lines.insert(0, line)
        size += len(line) + 1
    parts = [head, *body_lines]
    if len(body_lines) < len(lines):
        shown = len(body_lines)
        parts.append(
            f"Показаны последние {shown} {plural(shown, 'событие', 'события', 'событий')} "
            f"из {len(lines)}. Всю историю "
            f"документом можно получить в департаменте: {office.address}; телефон "
            f"{phones_phrase(config)}."
        )
    # §17: the history sent on request is a final written message: the survey link.
    body = "\n".join(parts) + survey
    return MessageText(subject="История взаимодействия с департаментом", body=body)
