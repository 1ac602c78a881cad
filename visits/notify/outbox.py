"""Putting messages into the outbox: one row per channel (§3, §13, §16, §30)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from visits.calendar import utcnow
from visits.models import (
    CHANNEL_LABELS,
    Channel,
    Client,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    Staff,
)
from visits.notify.templates import MessageText
from visits.services.history import history_record


def _recipient(client: Client, channel: str) -> str | None:
    if channel == Channel.EMAIL:
        return client.email
    return client.phone


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
) -> list[OutgoingMessage]:
    """Queue a message to each of the client's channels, inside the caller's transaction.

    A client who withdrew consent gets nothing: the rows are kept as skipped.
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
            due_at=due_at or utcnow(),
        )
        if client.consent_withdrawn_at is not None:
            row.status = MessageStatus.SKIPPED.value
            row.skip_reason = "Клиент отозвал согласие на обработку данных"
        elif not recipient:
            row.status = MessageStatus.SKIPPED.value
            row.skip_reason = "Нет адреса для этого способа связи"
        session.add(row)
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
            data={"kind": kind.value, "body": text.body},
        )
    return rows
