"""Reminders a day and two hours before a visit (§30), by each of the client's channels.

A reminder is an outbox row with a due time, created in the booking's own
transaction (booking_create calls reminders_schedule) and skipped in the
cancellation's (booking_cancel calls reminders_drop). The outbox is the durable queue: the scheduler's send job
picks rows whose time has come (visits.notify.sender), so a restart loses
nothing. The timing rule is `reminder_send_at`; /work/notes/reminders_rule.md
and the README say it in words.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.models import (
    CHANNEL_LABELS,
    Booking,
    Channel,
    Client,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    Room,
    Staff,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import booking_reminder
from visits.rules import PHONE_CALL_TOO_LATE, REMINDER_LEAD, phone_call_due
from visits.rules import in_window as in_window
from visits.rules import next_window_opening as next_window_opening
from visits.rules import previous_window_close as previous_window_close
from visits.rules import reminder_send_at as reminder_send_at
from visits.rules import window_of as window_of
from visits.services.history import history_record

log = logging.getLogger(__name__)

REMINDER_KINDS = (MessageKind.REMINDER_DAY, MessageKind.REMINDER_TWO_HOURS)
# The operator's choice of reminders and whether it can still arrive (§30) are pure rules:
# visits.rules (reminder_choice, reminders_late), which the desk query reads too.
TOO_LATE_TO_REMIND = "Запись сделана позже срока напоминания: клиент получил подтверждение"


# --- Scheduling with the booking -----------------------------------------------------------


def _wanted(booking: Booking) -> list[MessageKind]:
    wanted = []
    if booking.remind_day_before:
        wanted.append(MessageKind.REMINDER_DAY)
    if booking.remind_two_hours_before:
        wanted.append(MessageKind.REMINDER_TWO_HOURS)
    return wanted


def reminders_schedule(
    session: Session,
    *,
    booking: Booking,
    config: OfficeConfig,
    kinds: list[MessageKind] | None = None,
    now: datetime | None = None,
) -> list[OutgoingMessage]:
    """Queue the reminders a booking asked for, inside the caller's transaction (§30)."""
    now = now or utcnow()
    client = session.get(Client, booking.client_id)
    staff = session.get(Staff, booking.staff_id)
    room = session.get(Room, booking.room_id)
    assert client and staff and room and booking.id is not None
    tz = ZoneInfo(config.office.timezone)
    calendar: WorkCalendar | None = None  # made only for a client called by phone
    rows: list[OutgoingMessage] = []
    for kind in kinds if kinds is not None else _wanted(booking):
        due = reminder_send_at(
            kind=kind,
            starts_at=booking.starts_at,
            settings=config.messaging,
            tz=tz,
            allow_early=client.allow_early_messages,
        )
        text = booking_reminder(
            config=config,
            client=client,
            staff=staff,
            room=room,
            local_start=booking.starts_at.astimezone(tz),
            local_send=due.astimezone(tz),
            code=booking.code,
        )
        queued = message_queue(
            session,
            client=client,
            kind=kind,
            text=text,
            due_at=due,
            booking_id=booking.id,
            skip_reason=TOO_LATE_TO_REMIND if due <= now else "",
        )
        calls = [r for r in queued if r.channel == Channel.PHONE]
        if calls:
            calendar = calendar or WorkCalendar(config)
            _phone_calls_in_line_hours(
                session,
                calls,
                calendar=calendar,
                ideal=booking.starts_at - REMINDER_LEAD[kind],
                now=now,
            )
        rows += queued
    return rows


def _phone_calls_in_line_hours(
    session: Session,
    rows: list[OutgoingMessage],
    *,
    calendar: WorkCalendar,
    ideal: datetime,
    now: datetime,
) -> None:
    """§14, §19: an operator's reminder call falls due only in the lines' hours on a working day.

    One that cannot be made in time is skipped with its reason in the client's
    history, so the operators see it, rather than going late.
    """
    for row in rows:
        if row.status != MessageStatus.QUEUED:
            continue
        due = phone_call_due(calendar, ideal=ideal, now=now)
        if due is not None:
            row.due_at = due
            session.add(row)
            continue
        row.status = MessageStatus.SKIPPED
        row.skip_reason = PHONE_CALL_TOO_LATE
        session.add(row)
        history_record(
            session,
            client_id=row.client_id,
            kind=HistoryKind.MESSAGE_SKIPPED,
            channel=row.channel,
            booking_id=row.booking_id,
            summary=f"{row.subject} ({CHANNEL_LABELS[Channel.PHONE]}): {PHONE_CALL_TOO_LATE}",
            data={"kind": row.kind, "message_id": row.id},
        )


def reminders_drop(session: Session, *, booking: Booking, reason: str) -> int:
    """Skip the booking's reminders that have not gone yet (cancel, move); return how many."""
    rows = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            col(OutgoingMessage.kind).in_([k.value for k in REMINDER_KINDS]),
            OutgoingMessage.status == MessageStatus.QUEUED,
        )
    ).all()
    for row in rows:
        row.status = MessageStatus.SKIPPED
        row.skip_reason = reason
        session.add(row)
        history_record(
            session,
            client_id=row.client_id,
            kind=HistoryKind.MESSAGE_SKIPPED,
            channel=row.channel,
            booking_id=row.booking_id,
            summary=f"{row.subject} ({CHANNEL_LABELS[Channel(row.channel)]}): {reason}",
            data={"kind": row.kind, "message_id": row.id},
        )
    return len(rows)


def reminders_reschedule(
    session: Session, *, booking: Booking, config: OfficeConfig, now: datetime | None = None
) -> list[OutgoingMessage]:
    """A booking moved to another time: drop the old reminders, schedule new ones."""
    reminders_drop(session, booking=booking, reason="Время приёма изменилось")
    return reminders_schedule(session, booking=booking, config=config, now=now)
