"""Figures for health checks and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    PRINT_CLAIM_STALE_AFTER,
    Device,
    DeviceKind,
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
    """Counters for /metrics: today's tickets and calls, printing and paper, outbox backlog."""
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
    # Claims a crashed process left behind; the scheduler's retry takes them back.
    print_stale = session.exec(
        select(func.count())
        .select_from(PrintJob)
        .where(
            PrintJob.status == PrintJobStatus.PRINTING,
            col(PrintJob.claimed_at) < utcnow() - PRINT_CLAIM_STALE_AFTER,
        )
    ).one()
    print_sent = session.exec(
        select(func.count())
        .select_from(PrintJob)
        .join(Ticket, col(Ticket.id) == col(PrintJob.ticket_id))
        .where(PrintJob.status == PrintJobStatus.SENT, Ticket.office_day == today)
    ).one()
    paper = dict(
        session.exec(
            select(Device.printer_paper, func.count())
            .where(Device.kind == DeviceKind.KIOSK.value, col(Device.active).is_(True))
            .group_by(Device.printer_paper)
        ).all()
    )
    outbox_backlog = session.exec(
        select(func.count())
        .select_from(OutgoingMessage)
        .where(col(OutgoingMessage.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING]))
    ).one()
    return {
        "tickets_issued_today": int(tickets_today),
        "tickets_called_today": int(calls_today),
        "print_jobs_failed": int(print_failures),
        "print_jobs_stale": int(print_stale),
        "print_jobs_sent_unconfirmed_today": int(print_sent),
        "printers_paper_near_end": int(paper.get("near_end", 0)),
        "printers_paper_out": int(paper.get("out", 0)),
        "outbox_backlog": int(outbox_backlog),
    }
