"""Sending due outbox rows: claim, send, record; retries with backoff; never twice.

The outbox table is the durable queue. A row is claimed with one UPDATE
... WHERE status = 'queued' and a rowcount check, committed before the
network call: two scheduler processes running by mistake each see the
other's claim, so every message goes at most once per channel. A row left
in "sending" by a process that died mid-send is not sent again (nobody
knows whether it arrived): it becomes failed and the operators get a call.

A row that fell due while the server was down is sent late only while it
is still useful (before the visit; reminders also only inside the client's
hours), otherwise it is skipped with the reason. Every sent, failed and
skipped row writes the client's history (§4).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from visits.calendar import utcnow
from visits.config import OfficeConfig
from visits.db import write_transaction
from visits.models import (
    CHANNEL_LABELS,
    Booking,
    BookingStatus,
    Channel,
    Client,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
)
from visits.notify.channels import ChannelError, Channels, Envelope
from visits.notify.templates import call_after_failure_action, call_task_text
from visits.push import push_emit
from visits.services.call_tasks import call_task_create
from visits.services.history import history_record
from visits.services.reminders import (
    REMINDER_KINDS,
    in_window,
    next_window_opening,
    window_of,
)

log = logging.getLogger(__name__)

# A claim older than this belongs to a process that died while sending.
STALE_CLAIM = timedelta(minutes=10)
# A reminder this late (the scheduler ticks every 30 s) is still "on time".
LATE_GRACE = timedelta(minutes=15)
# A room change on the day is news for a couple of hours only.
ROOM_CHANGE_USEFUL = timedelta(hours=2)
BATCH = 100

_BOOKING_GONE = {
    BookingStatus.CANCELLED: "Запись отменена",
    BookingStatus.CHECKED_IN: "Клиент уже пришёл на приём",
    BookingStatus.COMPLETED: "Приём уже состоялся",
    BookingStatus.NO_SHOW: "Время приёма прошло",
}


def holder_name() -> str:
    """Who claims rows: host, process and thread (two threads are two senders)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    postponed: int = 0
    lost_claims: int = 0
    ids_sent: list[int] = field(default_factory=list)


def _label(channel: str) -> str:
    return CHANNEL_LABELS[Channel(channel)]


def _history(
    session: Session, row: OutgoingMessage, kind: HistoryKind, summary: str, **data: object
) -> None:
    history_record(
        session,
        client_id=row.client_id,
        kind=kind,
        channel=row.channel,
        booking_id=row.booking_id,
        ticket_id=row.ticket_id,
        summary=summary,
        data={"kind": row.kind, "message_id": row.id, **data},
    )


def _changed(session: Session, row: OutgoingMessage) -> None:
    """Tell the open outbox pages (ids only)."""
    push_emit(session, "message.changed", ["operators"], message_id=row.id, status=row.status)


def _skip(session: Session, row: OutgoingMessage, reason: str) -> None:
    row.status = MessageStatus.SKIPPED
    row.skip_reason = reason[:300]
    session.add(row)
    _changed(session, row)
    _history(
        session,
        row,
        HistoryKind.MESSAGE_SKIPPED,
        f"{row.subject} ({_label(row.channel)}): {reason}",
    )
    log.info("message %s skipped: %s", row.id, reason)


def _fail(
    session: Session, row: OutgoingMessage, client: Client, error: str, now: datetime
) -> None:
    """The last attempt failed: record it and give the operators a call (nothing is lost)."""
    row.status = MessageStatus.FAILED
    row.error = error[:1000]
    row.next_attempt_at = None
    session.add(row)
    _changed(session, row)
    _history(
        session,
        row,
        HistoryKind.MESSAGE_FAILED,
        f"{row.subject} ({_label(row.channel)}): {error}",
        attempts=row.attempts,
    )
    call_task_create(
        session,
        client=client,
        text=call_task_text(
            client=client,
            action=call_after_failure_action(
                channel_label=_label(row.channel), subject=row.subject, error=error
            ),
        ),
        due_at=now,
        message_id=row.id,
        booking_id=row.booking_id,
    )
    log.warning("message %s failed after %d attempt(s): %s", row.id, row.attempts, error)


def _useless_reason(
    session: Session, row: OutgoingMessage, client: Client, now: datetime
) -> str | None:
    """Why a row should not go any more, or None while it is still useful."""
    if client.consent_withdrawn_at is not None:
        return "Клиент отозвал согласие на обработку данных"
    if row.kind == MessageKind.ROOM_CHANGE and now - row.due_at > ROOM_CHANGE_USEFUL:
        return "Сообщение о смене кабинета устарело"
    if row.booking_id is None or row.kind not in (
        MessageKind.CONFIRMATION,
        MessageKind.CANCELLATION,
        *REMINDER_KINDS,
    ):
        return None
    booking = session.get(Booking, row.booking_id)
    if booking is None:
        return "Запись удалена"
    if row.kind in REMINDER_KINDS and booking.status != BookingStatus.BOOKED:
        return _BOOKING_GONE.get(booking.status, "Запись не действует")
    if now >= booking.starts_at:
        return "Время приёма прошло: сообщение опоздало"
    return None


def _postpone_until(
    session: Session, row: OutgoingMessage, client: Client, now: datetime, config: OfficeConfig
) -> datetime | str | None:
    """A late reminder outside the client's hours waits for the morning, if the visit allows.

    Returns the new time, a skip reason, or None (send now).
    """
    if row.kind not in REMINDER_KINDS or now - row.due_at <= LATE_GRACE:
        return None
    tz = ZoneInfo(config.office.timezone)
    window = window_of(config.messaging, allow_early=client.allow_early_messages)
    if in_window(now, tz, window):
        return None
    booking = session.get(Booking, row.booking_id)
    assert booking is not None
    opening = next_window_opening(now, tz, window)
    if opening <= booking.starts_at - timedelta(minutes=config.messaging.reminder_min_lead_minutes):
        return opening
    return (
        "Срок напоминания пропущен (сервер не работал), а до приёма клиенту можно "
        "писать только ночью"
    )


def _claim(
    session: Session,
    row_id: int,
    *,
    now: datetime,
    holder: str,
    config: OfficeConfig,
    report: SendReport,
) -> Envelope | None:
    """Take a row for sending; return what to send, or None (taken, skipped, done here)."""
    with write_transaction(session):
        if not _take(session, row_id, now=now, holder=holder):
            report.lost_claims += 1
            return None
        row = session.get(OutgoingMessage, row_id, populate_existing=True)
        assert row is not None
        client = session.get(Client, row.client_id)
        assert client is not None
        if _held_back(session, row, client, now=now, config=config, report=report):
            return None
        if row.channel == Channel.PHONE:
            _call_task_hand_over(session, row, client, now=now, report=report)
            return None
        return Envelope(
            message_id=row_id,
            channel=row.channel,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            short_body=row.short_body,
        )


def _take(session: Session, row_id: int, *, now: datetime, holder: str) -> bool:
    """Mark a queued row as being sent by this holder; False if another sender took it."""
    # One conditional UPDATE: of two senders racing for the row, exactly one changes it.
    taken = session.exec(
        update(OutgoingMessage)
        .where(
            col(OutgoingMessage.id) == row_id,
            col(OutgoingMessage.status) == MessageStatus.QUEUED,
        )
        .values(
            status=MessageStatus.SENDING,
            claimed_at=now,
            claimed_by=holder,
            attempts=OutgoingMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)


def _held_back(
    session: Session,
    row: OutgoingMessage,
    client: Client,
    *,
    now: datetime,
    config: OfficeConfig,
    report: SendReport,
) -> bool:
    """Skip a message no longer of use or postpone it to the client's hours; True if done so."""
    reason = _useless_reason(session, row, client, now)
    if reason:
        _skip(session, row, reason)
        report.skipped += 1
        return True
    later = _postpone_until(session, row, client, now, config)
    if isinstance(later, str):
        _skip(session, row, later)
        report.skipped += 1
        return True
    if later is not None:
        row.status = MessageStatus.QUEUED
        # A postponed message was not tried: the claim's attempt is given back.
        row.attempts -= 1
        row.next_attempt_at = later
        session.add(row)
        report.postponed += 1
        log.info("message %s postponed to %s (outside the client's hours)", row.id, later)
        return True
    return False


def _call_task_hand_over(
    session: Session,
    row: OutgoingMessage,
    client: Client,
    *,
    now: datetime,
    report: SendReport,
) -> None:
    """Turn a phone message into an operator's call task and count it sent."""
    # The phone "channel" is a person: the message becomes an operator's task.
    call_task_create(
        session,
        client=client,
        text=row.short_body or call_task_text(client=client, action=row.subject),
        due_at=now,
        message_id=row.id,
        booking_id=row.booking_id,
    )
    row.status = MessageStatus.SENT
    row.sent_at = now
    session.add(row)
    _changed(session, row)
    report.sent += 1
    assert row.id is not None
    report.ids_sent.append(row.id)


def _finish(
    session: Session,
    row_id: int,
    *,
    holder: str,
    config: OfficeConfig,
    note: str | None,
    error: ChannelError | None,
    report: SendReport,
) -> None:
    now = utcnow()
    with write_transaction(session):
        row = session.get(OutgoingMessage, row_id, populate_existing=True)
        assert row is not None
        if row.status != MessageStatus.SENDING or row.claimed_by != holder:
            log.warning("message %s changed while sending (now %s); leaving it", row_id, row.status)
            return
        if error is None:
            row.status = MessageStatus.SENT
            row.sent_at = now
            row.error = ""
            row.next_attempt_at = None
            session.add(row)
            _changed(session, row)
            _history(
                session,
                row,
                HistoryKind.MESSAGE_SENT,
                f"{row.subject} ({_label(row.channel)})",
                gateway=note or "",
            )
            report.sent += 1
            report.ids_sent.append(row_id)
            return
        client = session.get(Client, row.client_id)
        assert client is not None
        if error.permanent or row.attempts >= config.messaging.max_attempts:
            _fail(session, row, client, str(error), now)
            report.failed += 1
            return
        delays = config.messaging.retry_delays_minutes
        wait = timedelta(minutes=delays[min(row.attempts, len(delays)) - 1])
        row.status = MessageStatus.QUEUED
        row.error = str(error)[:1000]
        row.next_attempt_at = now + wait
        session.add(row)
        _changed(session, row)
        report.retried += 1
        log.warning(
            "message %s attempt %d failed (%s); next try at %s",
            row_id,
            row.attempts,
            error,
            row.next_attempt_at,
        )


def outbox_due_ids(session: Session, *, now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of queued rows whose time has come (retries only after their wait)."""
    ids = session.exec(
        select(OutgoingMessage.id)
        .where(
            OutgoingMessage.status == MessageStatus.QUEUED,
            col(OutgoingMessage.due_at) <= now,
            or_(
                col(OutgoingMessage.next_attempt_at).is_(None),
                col(OutgoingMessage.next_attempt_at) <= now,
            ),
        )
        .order_by(col(OutgoingMessage.due_at), col(OutgoingMessage.id))
        .limit(limit)
    ).all()
    return [i for i in ids if i is not None]


def outbox_send_due(
    *,
    session: Session,
    config: OfficeConfig,
    channels: Channels | None = None,
    now: datetime | None = None,
    holder: str | None = None,
    limit: int = BATCH,
) -> SendReport:
    """Send every row that is due now, one claim at a time; return what happened."""
    now = now or utcnow()
    holder = holder or holder_name()
    channels = channels or Channels.from_settings(config.messaging)
    report = SendReport()
    ids = outbox_due_ids(session, now=now, limit=limit)
    session.rollback()
    for row_id in ids:
        envelope = _claim(session, row_id, now=now, holder=holder, config=config, report=report)
        if envelope is None:
            continue
        note: str | None = None
        failure: ChannelError | None = None
        try:
            note = channels.for_channel(envelope.channel).send(envelope)
        except ChannelError as exc:
            failure = exc
        except Exception as exc:  # an adapter bug must not leave the row in "sending"
            log.exception(
                "message %s: unexpected error in the %s adapter", row_id, envelope.channel
            )
            failure = ChannelError(f"ошибка отправки: {type(exc).__name__}")
        _finish(
            session, row_id, holder=holder, config=config, note=note, error=failure, report=report
        )
    if ids:
        log.info(
            "outbox: sent=%d retried=%d failed=%d skipped=%d postponed=%d",
            report.sent,
            report.retried,
            report.failed,
            report.skipped,
            report.postponed,
        )
    return report


def outbox_recover_stale(*, session: Session, now: datetime | None = None) -> int:
    """Fail rows stuck in "sending" (the sender died mid-send) and give operators a call.

    Sending again could deliver twice; a person checks instead.
    """
    now = now or utcnow()
    stuck = session.exec(
        select(OutgoingMessage.id).where(
            OutgoingMessage.status == MessageStatus.SENDING,
            col(OutgoingMessage.claimed_at) < now - STALE_CLAIM,
        )
    ).all()
    session.rollback()
    done = 0
    for row_id in stuck:
        with write_transaction(session):
            row = session.get(OutgoingMessage, row_id, populate_existing=True)
            if row is None or row.status != MessageStatus.SENDING:
                continue
            client = session.get(Client, row.client_id)
            assert client is not None
            _fail(
                session,
                row,
                client,
                "отправка прервалась (сервер остановился); неизвестно, дошло ли сообщение",
                now,
            )
            done += 1
    return done
