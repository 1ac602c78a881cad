"""Putting messages into the outbox: one row per channel (§3, §13, §16, §30)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.models import (
    CHANNEL_LABELS,
    Channel,
    Client,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    Room,
    Staff,
    Ticket,
)
from visits.notify.templates import MessageText, call_task_text, room_change
from visits.ru import by_gender_of
from visits.services.history import history_record


def _recipient(client: Client, channel: str) -> str | None:
    if channel == Channel.EMAIL:
        return client.email
    return client.phone


def _form_for(client: Client, channel: str, text: MessageText) -> str:
    """The channel's compact form: the SMS text or the operator's call task ("" for e-mail)."""
    if channel == Channel.SMS:
        return text.sms
    if channel == Channel.PHONE:
        return call_task_text(client=client, action=text.call or f"сообщить: {text.subject}")
    return ""


def _phone_skip_reason(kind: MessageKind, staff: Staff | None) -> str:
    """A phone call is not needed where the client already heard it, or for a written-only message."""
    if (
        kind in (MessageKind.CONFIRMATION, MessageKind.CANCELLATION, MessageKind.REFERRAL)
        and staff is not None
    ):
        told = by_gender_of(staff, "сообщил", "сообщила")
        return f"{staff.full_name} {told} это клиенту при разговоре"
    if kind == MessageKind.FINAL:
        # §17: the survey link is a written message; the rating tablet asks in person.
        return "Ссылку на опрос по телефону не передают"
    return ""


def _skip_reason_for(
    client: Client,
    *,
    channel: str,
    recipient: str,
    kind: MessageKind,
    staff: Staff | None,
    given: str,
) -> str:
    """Say why the row to this channel is not sent, or "" when it goes out."""
    phone_reason = _phone_skip_reason(kind, staff) if channel == Channel.PHONE else ""
    if client.consent_withdrawn_at is not None:
        return "Клиент отозвал согласие на обработку данных"
    if not recipient:
        return "Нет адреса для этого способа связи"
    return given or phone_reason


def message_queue(
    session: Session,
    *,
    client: Client,
    kind: MessageKind,
    text: MessageText,
    due_at: datetime | None = None,
    booking_id: int | None = None,
    ticket_id: int | None = None,
    staff: Staff | None = None,
    skip_reason: str = "",
) -> list[OutgoingMessage]:
    """Queue a message to each of the client's channels, inside the caller's transaction.

    A client who withdrew consent gets nothing: the rows are kept as skipped,
    as are rows the caller already knows are useless (`skip_reason`).
    """
    assert client.id is not None
    rows = []
    for channel in client.channels:
        recipient = _recipient(client, channel) or ""
        row = OutgoingMessage(
            client_id=client.id,
            booking_id=booking_id,
            ticket_id=ticket_id,
            kind=kind.value,
            channel=channel,
            recipient=recipient,
            subject=text.subject,
            body=text.body,
            short_body=_form_for(client, channel, text),
            due_at=due_at or utcnow(),
        )
        reason = _skip_reason_for(
            client, channel=channel, recipient=recipient, kind=kind, staff=staff, given=skip_reason
        )
        if reason:
            row.status = MessageStatus.SKIPPED
            row.skip_reason = reason
        session.add(row)
        # The id goes into the history entry: the client's history reads the row's state later.
        session.flush()
        rows.append(row)
        history_record(
            session,
            client_id=client.id,
            kind=HistoryKind.MESSAGE_QUEUED
            if row.status == MessageStatus.QUEUED
            else HistoryKind.MESSAGE_SKIPPED,
            staff=staff,
            channel=channel,
            booking_id=booking_id,
            ticket_id=ticket_id,
            summary=f"{text.subject} ({CHANNEL_LABELS[Channel(channel)]})"
            + (f": {row.skip_reason}" if row.skip_reason else ""),
            data={"kind": kind.value, "body": text.body, "message_id": row.id},
        )
    return rows


def outbox_recent(
    session: Session, *, status: str | None = None, limit: int = 200
) -> list[tuple[OutgoingMessage, Client]]:
    """Return the newest outbox rows with their clients (the /staff/outbox page)."""
    query = select(OutgoingMessage, Client).join(
        Client, col(Client.id) == OutgoingMessage.client_id
    )
    if status:
        query = query.where(OutgoingMessage.status == status)
    query = query.order_by(col(OutgoingMessage.due_at).desc(), col(OutgoingMessage.id).desc())
    return [(m, c) for m, c in session.exec(query.limit(limit)).all()]


def outbox_counts(session: Session) -> dict[str, int]:
    """Return how many rows the outbox holds in each state."""
    from sqlalchemy import func

    rows = session.exec(
        select(OutgoingMessage.status, func.count()).group_by(OutgoingMessage.status)
    ).all()
    counts = {s.value: 0 for s in MessageStatus}
    counts.update({status: int(n) for status, n in rows})
    return counts


def room_change_queue(
    session: Session, *, client: Client, ticket: Ticket, room: Room, staff: Staff | None
) -> list[OutgoingMessage]:
    """Tell the client the visit goes on in another room today (transfer §23, meeting room §35)."""
    return message_queue(
        session,
        client=client,
        kind=MessageKind.ROOM_CHANGE,
        text=room_change(client=client, ticket_number=ticket.number, room=room, route=room.route),
        booking_id=ticket.booking_id,
        ticket_id=ticket.id,
        staff=staff,
    )
