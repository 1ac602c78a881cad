"""End-of-day housekeeping the scheduler runs: no-shows and the next day's ticket counters."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import is_sqlite, write_transaction
from visits.models import (
    Booking,
    BookingStatus,
    HistoryKind,
    Service,
    Ticket,
    TicketCounter,
    TicketStatus,
)
from visits.push import push_emit
from visits.services.history import history_record

log = logging.getLogger(__name__)

WAITING = (TicketStatus.WAITING, TicketStatus.CALLED)


def day_end(calendar: WorkCalendar, day: date) -> datetime:
    """When the office's working day ends (the end of the calendar day if it did not work)."""
    periods = calendar.periods_on(day)
    if periods:
        return periods[-1].end
    return calendar.at(day + timedelta(days=1), datetime.min.time())


def tickets_close_day(
    *, session: Session, calendar: WorkCalendar, now: datetime | None = None
) -> int:
    """Mark tickets still waiting after their working day ended as no-shows; return how many."""
    now = now or utcnow()
    today = calendar.to_local(now).date()
    candidates = session.exec(
        select(Ticket).where(col(Ticket.status).in_(WAITING), col(Ticket.office_day) <= today)
    ).all()
    session.rollback()
    due = [t.id for t in candidates if t.id is not None and day_end(calendar, t.office_day) <= now]
    for ticket_id in due:
        with write_transaction(session):
            ticket = session.get(Ticket, ticket_id, populate_existing=True)
            if ticket is None or ticket.status not in WAITING:
                continue
            ticket.status = TicketStatus.NO_SHOW
            ticket.finished_at = now
            session.add(ticket)
            booking = session.get(Booking, ticket.booking_id)
            if booking is not None:
                booking.status = BookingStatus.NO_SHOW
                session.add(booking)
            history_record(
                session,
                client_id=ticket.client_id,
                kind=HistoryKind.NO_SHOW,
                booking_id=ticket.booking_id,
                ticket_id=ticket.id,
                summary=f"Талон {ticket.number}: рабочий день закончился, клиента не вызвали "
                "или он не подошёл. Система отметила неявку.",
            )
            push_emit(
                session,
                "ticket.no_show",
                [f"staff:{ticket.staff_id}", f"room:{ticket.room_id}", "displays", "admin"],
                ticket_id=ticket.id,
                room_id=ticket.room_id,
            )
    if due:
        log.info("housekeeping: %d ticket(s) marked no-show after the working day", len(due))
    return len(due)


def bookings_close_day(
    *, session: Session, calendar: WorkCalendar, now: datetime | None = None
) -> int:
    """Mark bookings nobody checked in for, once their day ended, as no-shows; return how many."""
    now = now or utcnow()
    candidates = session.exec(
        select(Booking).where(Booking.status == BookingStatus.BOOKED, col(Booking.starts_at) < now)
    ).all()
    session.rollback()
    due = [
        b.id
        for b in candidates
        if b.id is not None and day_end(calendar, calendar.to_local(b.starts_at).date()) <= now
    ]
    for booking_id in due:
        with write_transaction(session):
            booking = session.get(Booking, booking_id, populate_existing=True)
            if booking is None or booking.status != BookingStatus.BOOKED:
                continue
            booking.status = BookingStatus.NO_SHOW
            session.add(booking)
            local = calendar.to_local(booking.starts_at)
            history_record(
                session,
                client_id=booking.client_id,
                kind=HistoryKind.NO_SHOW,
                booking_id=booking.id,
                summary=f"Клиент не пришёл на приём {local:%d.%m.%Y} в {local:%H:%M} "
                "и не отменил запись.",
            )
    if due:
        log.info("housekeeping: %d booking(s) marked no-show", len(due))
    return len(due)


def ticket_counters_prepare(
    *, session: Session, calendar: WorkCalendar, now: datetime | None = None
) -> date:
    """Create the next working day's ticket counters (from 001), so check-in only updates."""
    now = now or utcnow()
    day = calendar.next_working_day(calendar.to_local(now).date())
    letters = session.exec(select(Service.letter).where(col(Service.active))).all()
    dialect = sqlite if is_sqlite(session) else postgresql
    with write_transaction(session):
        for letter in sorted(set(letters)):
            session.exec(
                dialect.insert(TicketCounter)
                .values(office_day=day, letter=letter, last_seq=0)
                .on_conflict_do_nothing(index_elements=["office_day", "letter"])
            )
    return day
