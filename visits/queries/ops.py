"""Figures for health checks and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    MessageStatus,
    OutgoingMessage,
    PrintJob,
    PrintJobStatus,
    SchedulerLease,
    Ticket,
)

# A scheduler renews its lease well within this; older means it is gone.
SCHEDULER_STALE_AFTER = timedelta(minutes=2)


def scheduler_alive(session: Session) -> bool | None:
    """True if a scheduler renewed its lease lately, False if stale, None if none ever ran."""
    lease = session.exec(select(SchedulerLease)).first()
    if lease is None:
        return None
    return utcnow() - lease.heartbeat_at < SCHEDULER_STALE_AFTER


def ops_counters(session: Session, calendar: WorkCalendar) -> dict[str, int]:
    """Counters for /metrics: today's tickets and calls, print failures, outbox backlog."""
    today = calendar.today()
    tickets_today = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.office_day == today)
    ).one()
    calls_today = session.exec(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.office_day == today, col(Ticket.called_at).is_not(None))
    ).one()
    print_failures = session.exec(
        select(func.count()).select_from(PrintJob).where(PrintJob.status == PrintJobStatus.FAILED)
    ).one()
    outbox_backlog = session.exec(
        select(func.count())
        .select_from(OutgoingMessage)
        .where(col(OutgoingMessage.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING]))
    ).one()
    return {
        "tickets_issued_today": int(tickets_today),
        "tickets_called_today": int(calls_today),
        "print_jobs_failed": int(print_failures),
        "outbox_backlog": int(outbox_backlog),
    }
