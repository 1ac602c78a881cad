"""A client's requests about their data (§4): correct it, merge duplicates, withdraw consent."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from visits.models import (
    CHANNEL_LABELS,
    Booking,
    Call,
    CallBack,
    CallTask,
    Channel,
    Client,
    ClientNote,
    HistoryEntry,
    HistoryKind,
    MessageStatus,
    OutgoingMessage,
    Staff,
    Ticket,
)
from visits.phones import phone_display, phone_normalise
from visits.queries.history import history_require_access, sees_all_histories
from visits.services.clients import channels_check, email_normalise, name_normalise
from visits.services.history import history_record

log = logging.getLogger(__name__)

CONSENT_WITHDRAWN_NOTE = (
    "Сообщения клиенту больше не отправляются. Данные хранятся пять лет после последнего "
    "обращения, как требует порядок, и затем удаляются."
)


def _client_for_change(session: Session, client_id: int, staff: Staff | None) -> Client:
    if staff is not None:
        # The same access rule as for reading the history (visits.queries.history).
        history_require_access(session, staff=staff, client_id=client_id)
    stmt = select(Client).where(Client.id == client_id)
    if for_update(session):
        stmt = stmt.with_for_update()
    client = session.exec(stmt).first()
    if client is None:
        raise NotFound("Клиент не найден.")
    if client.merged_into_id is not None:
        raise RuleViolation(
            f"Эта запись объединена с записью клиента № {client.merged_into_id}. "
            "Работайте с той записью.",
            code="client_merged",
        )
    return client


def _channel_words(channel: str | None, second: str | None) -> str:
    if not channel:
        return "—"
    words = CHANNEL_LABELS[Channel(channel)]
    if second:
        words += f", дополнительно {CHANNEL_LABELS[Channel(second)]}"
    return words


def client_update(
    *,
    session: Session,
    client_id: int,
    staff: Staff | None,
    surname: str,
    first_name: str,
    patronymic: str,
    phone: str,
    email: str | None,
    channel: str | None,
    second_channel: str | None,
    city_code: str | None = None,
) -> Client:
    """Correct a client's data at their request; the history keeps the old and new values."""
    new = _Fields(
        surname=name_normalise(surname, "surname", "фамилию"),
        first_name=name_normalise(first_name, "first_name", "имя"),
        patronymic=name_normalise(patronymic, "patronymic", "отчество", required=False),
        phone=phone_normalise(phone, city_code=city_code),
        email=email_normalise(email),
    )
    new.channel, new.second_channel = channels_check(
        channel, second_channel, email=new.email, phone=new.phone
    )
    with write_transaction(session):
        client = _client_for_change(session, client_id, staff)
        changes = _changes_of(client, new)
        if not changes:
            return client
        client.surname, client.first_name, client.patronymic = (
            new.surname,
            new.first_name,
            new.patronymic,
        )
        client.phone, client.email = new.phone, new.email
        client.channel, client.second_channel = new.channel, new.second_channel
        client.updated_at = utcnow()
        session.add(client)
        history_record(
            session,
            client_id=client_id,
            kind=HistoryKind.CLIENT_UPDATED,
            staff=staff,
            summary="Данные клиента исправлены по его просьбе. " + "; ".join(changes) + ".",
            data={"changes": changes},
        )
    log.info(
        "client %s updated (%s fields), phone=%s", client_id, len(changes), client.masked_phone
    )
    return client


@dataclass
class _Fields:
    """A client's corrected fields, checked and normalised."""

    surname: str
    first_name: str
    patronymic: str
    phone: str
    email: str | None
    channel: str = ""
    second_channel: str | None = None


def _changes_of(client: Client, new: _Fields) -> list[str]:
    """Describe each changed field as «label: old → new», for the history (§4)."""
    fields = [
        ("фамилия", client.surname, new.surname),
        ("имя", client.first_name, new.first_name),
        ("отчество", client.patronymic, new.patronymic),
        ("телефон", phone_display(client.phone), phone_display(new.phone)),
        ("электронная почта", client.email or "—", new.email or "—"),
        (
            "способ связи",
            _channel_words(client.channel, client.second_channel),
            _channel_words(new.channel, new.second_channel),
        ),
    ]
    return [
        f"{label}: {old or '—'} → {value or '—'}" for label, old, value in fields if old != value
    ]


@dataclass(frozen=True)
class MergeResult:
    client: Client
    moved: dict[str, int]


def client_merge(
    *, session: Session, source_id: int, target_id: int, staff: Staff | None
) -> MergeResult:
    """Merge a duplicate record into another of the same person; nothing is lost.

    The duplicate's history, bookings, tickets, messages, call tasks and notes move to
    the kept record; the duplicate stays as an empty record pointing to it. Empty
    fields of the kept record are filled from the duplicate; a withdrawn consent
    carries over (no messages to a person who withdrew it on either record).
    """
    if source_id == target_id:
        raise InvalidInput("Нельзя объединить запись саму с собой.", field="other")
    with write_transaction(session):
        if staff is not None and not sees_all_histories(staff):
            raise Forbidden(
                "Объединять записи клиентов могут операторы и администраторы.",
                code="merge_forbidden",
            )
        source = _client_for_change(session, source_id, staff)
        target = _client_for_change(session, target_id, staff)
        moved = _rows_move(session, source_id, target_id)
        filled = _fields_fill(source, target)
        target.updated_at = utcnow()
        source.merged_into_id = target_id
        source.updated_at = target.updated_at
        session.add_all([source, target])
        history_record(
            session,
            client_id=target_id,
            kind=HistoryKind.CLIENT_MERGED,
            staff=staff,
            summary=_merge_summary(source, moved, filled),
            data={"source_client_id": source_id, "moved": moved},
        )
    session.refresh(target)
    log.info(
        "client %s merged into %s (%s), phone=%s",
        source_id,
        target_id,
        ", ".join(f"{k}={v}" for k, v in moved.items()),
        target.masked_phone,
    )
    return MergeResult(client=target, moved=moved)


def _rows_move(session: Session, source_id: int, target_id: int) -> dict[str, int]:
    """Move every row of the duplicate to the kept record; return the count moved per kind."""
    moved: dict[str, int] = {}
    for label, model, column in (
        ("history", HistoryEntry, HistoryEntry.client_id),
        ("bookings", Booking, Booking.client_id),
        ("tickets", Ticket, Ticket.client_id),
        ("messages", OutgoingMessage, OutgoingMessage.client_id),
        ("call_tasks", CallTask, CallTask.client_id),
        ("notes", ClientNote, ClientNote.client_id),
        ("calls", Call, Call.client_id),
        ("callbacks", CallBack, CallBack.client_id),
    ):
        count = len(session.exec(select(model.id).where(column == source_id)).all())
        if count:
            session.execute(
                update(model).where(col(column) == source_id).values(client_id=target_id)
            )
        moved[label] = count
    return moved


def _fields_fill(source: Client, target: Client) -> list[str]:
    """Fill the kept record's empty fields from the duplicate; return what was filled."""
    filled: list[str] = []
    if not target.patronymic and source.patronymic:
        target.patronymic = source.patronymic
        filled.append("отчество")
    if not target.email and source.email:
        target.email = source.email
        filled.append("электронная почта")
    if source.notes:
        target.notes = "\n".join(n for n in (target.notes, source.notes) if n)[:4000]
    # A withdrawal on either record stands: no messages to a person who withdrew it.
    if target.consent_withdrawn_at is None and source.consent_withdrawn_at is not None:
        target.consent_withdrawn_at = source.consent_withdrawn_at
        filled.append("отзыв согласия")
    return filled


def _merge_summary(source: Client, moved: dict[str, int], filled: list[str]) -> str:
    """Describe the merge for the kept record's history (§4)."""
    return (
        f"Запись клиента № {source.id} ({source.full_name}, "
        f"{phone_display(source.phone)}) объединена с этой: перенесено событий "
        f"{moved['history']}, записей на приём {moved['bookings']}, талонов "
        f"{moved['tickets']}, сообщений {moved['messages']}, заметок {moved['notes']}."
        + (f" Дополнено: {', '.join(filled)}." if filled else "")
    )


def client_consent_withdraw(*, session: Session, client_id: int, staff: Staff | None) -> Client:
    """Record a withdrawn consent: no more messages; queued ones are skipped (§4)."""
    with write_transaction(session):
        client = _client_for_change(session, client_id, staff)
        if client.consent_withdrawn_at is not None:
            raise Conflict(
                f"Согласие уже отозвано {client.consent_withdrawn_at:%d.%m.%Y}.",
                code="consent_already_withdrawn",
            )
        client.consent_withdrawn_at = utcnow()
        client.updated_at = client.consent_withdrawn_at
        session.add(client)
        waiting = list(
            session.exec(
                select(OutgoingMessage).where(
                    OutgoingMessage.client_id == client_id,
                    OutgoingMessage.status == MessageStatus.QUEUED,
                )
            ).all()
        )
        for message in waiting:
            message.status = MessageStatus.SKIPPED
            message.skip_reason = "Клиент отозвал согласие на обработку данных"
            session.add(message)
        history_record(
            session,
            client_id=client_id,
            kind=HistoryKind.CONSENT_WITHDRAWN,
            staff=staff,
            summary="Клиент отозвал согласие на обработку персональных данных. "
            + CONSENT_WITHDRAWN_NOTE
            + (f" Не отправлено сообщений из очереди: {len(waiting)}." if waiting else ""),
            data={"skipped_messages": [m.id for m in waiting]},
        )
    log.info("client %s withdrew consent, phone=%s", client_id, client.masked_phone)
    return client
