"""Check-in by the booking code, typed or scanned from the confirmation's QR (§31, §34.3)."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, is_sqlite, write_transaction
from visits.errors import NotFound
from visits.models import (
    Booking,
    BookingStatus,
    HistoryKind,
    PrintJob,
    Service,
    Ticket,
    TicketCounter,
    TicketStatus,
)
from visits.push import push_emit
from visits.queries.ticket_page import TicketInfo, ticket_info
from visits.services.checkin.common import (
    KIOSK_ACTOR,
    CheckinRefused,
    CheckinResult,
    office_phones,
    scanned_code,
)
from visits.services.checkin.window import checkin_window_check
from visits.services.history import history_record

log = logging.getLogger(__name__)

# A second scan or tap within this time is the same press: no second print job.
SAME_PRESS = timedelta(seconds=15)


def ticket_checkin(
    *,
    session: Session,
    calendar: WorkCalendar,
    code: str,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Check a booking in by its code (typed or scanned); return its ticket."""
    value = scanned_code(code)
    booking_id = session.exec(select(Booking.id).where(Booking.code == value)).first()
    if booking_id is None:
        log.info("check-in refused: unknown code")
        raise NotFound(
            f"Записи с кодом {value} нет. Проверьте код в сообщении о записи "
            "или найдите запись по номеру телефона.",
            code="checkin_unknown",
        )
    return checkin_booking(
        session=session, calendar=calendar, booking_id=booking_id, device_id=device_id, now=now
    )


def checkin_booking(
    *,
    session: Session,
    calendar: WorkCalendar,
    booking_id: int,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Issue the booking's ticket, or return the one it already has (a reprint)."""
    now = now or utcnow()
    try:
        return _checkin(session, calendar, booking_id, device_id, now)
    except IntegrityError:
        # Another kiosk checked the same booking in at this very moment (the row
        # lock covers PostgreSQL; this covers the rest): theirs is the ticket.
        session.rollback()
        log.info("check-in of booking %s raced; returning the ticket issued", booking_id)
        return _checkin(session, calendar, booking_id, device_id, now)


def _checkin(
    session: Session, calendar: WorkCalendar, booking_id: int, device_id: int, now: datetime
) -> CheckinResult:
    """Issue the ticket, its print job, the history row and the staff's push, in one transaction."""
    with write_transaction(session):
        booking = _booking_locked(session, booking_id)
        ticket = session.exec(
            select(Ticket)
            .where(Ticket.booking_id == booking_id)
            .execution_options(populate_existing=True)
        ).first()
        if ticket is not None:
            return _reprint(session, calendar, booking, ticket, device_id, now)
        late_minutes = checkin_window_check(session, calendar, booking, now)
        ticket = _ticket_issue(session, calendar, booking, late_minutes, device_id, now)
        assert ticket.id is not None
        job = PrintJob(ticket_id=ticket.id, device_id=device_id, created_at=now)
        session.add(job)
        session.flush()
        info = ticket_info(session, calendar, ticket)
        _checkin_record(session, booking, ticket, info, late_minutes, device_id, now)
    log.info(
        "check-in: booking %s -> ticket %s (late %s min)", booking_id, ticket.number, late_minutes
    )
    return CheckinResult(
        info=info,
        booking_id=booking_id,
        staff_id=booking.staff_id,
        print_job_id=job.id,
        reprint=False,
    )


def _booking_locked(session: Session, booking_id: int) -> Booking:
    """Read the booking afresh, locked where the database can lock a row."""
    stmt = select(Booking).where(Booking.id == booking_id)
    if for_update(session):
        # Serialise check-ins of one booking; a second one then sees the ticket.
        stmt = stmt.with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).one()


def _ticket_issue(
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    late_minutes: int,
    device_id: int,
    now: datetime,
) -> Ticket:
    """Number a new waiting ticket for the booking and mark the booking checked in."""
    service = session.get(Service, booking.service_id)
    assert service is not None and booking.id is not None
    day = calendar.to_local(now).date()
    seq = _next_seq(session, day, service.letter)
    ticket = Ticket(
        number=f"{service.letter}-{seq:03d}",
        letter=service.letter,
        seq=seq,
        office_day=day,
        booking_id=booking.id,
        client_id=booking.client_id,
        token=secrets.token_urlsafe(18),
        status=TicketStatus.WAITING,
        service_id=booking.service_id,
        staff_id=booking.staff_id,
        room_id=booking.room_id,
        booked_at=booking.starts_at,
        checked_in_at=now,
        late_arrival=late_minutes > 0,
        kiosk_device_id=device_id,
    )
    session.add(ticket)
    booking.status = BookingStatus.CHECKED_IN
    session.add(booking)
    session.flush()
    return ticket


def _checkin_record(
    session: Session,
    booking: Booking,
    ticket: Ticket,
    info: TicketInfo,
    late_minutes: int,
    device_id: int,
    now: datetime,
) -> None:
    """Write the check-in to the client's history (§4) and tell the staff's screens."""
    summary = f"Регистрация в терминале, талон {ticket.number}. {info.visit_sentence}" + (
        f" Опоздание {late_minutes} мин." if late_minutes else ""
    )
    history_record(
        session,
        client_id=booking.client_id,
        kind=HistoryKind.CHECKED_IN,
        actor=KIOSK_ACTOR,
        booking_id=booking.id,
        ticket_id=ticket.id,
        summary=summary,
        data={"late_minutes": late_minutes, "device_id": device_id},
        at=now,
    )
    push_emit(
        session,
        "ticket.checked_in",
        [f"staff:{booking.staff_id}", "admin"],
        ticket_id=ticket.id,
    )


def _reprint(
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    ticket: Ticket,
    device_id: int,
    now: datetime,
) -> CheckinResult:
    """Return the booking's ticket again, printed again unless this is the same press."""
    if ticket.status == TicketStatus.DONE:
        raise CheckinRefused(
            "Приём по этой записи уже завершён. Если остался вопрос, "
            f"позвоните по телефону {office_phones(calendar)} или запишитесь снова.",
            reason="finished",
            booking_id=booking.id,
        )
    assert ticket.id is not None
    recent = session.exec(
        select(PrintJob)
        .where(PrintJob.ticket_id == ticket.id, col(PrintJob.created_at) > now - SAME_PRESS)
        .order_by(col(PrintJob.id).desc())
    ).first()
    job = recent
    if job is None:
        job = PrintJob(ticket_id=ticket.id, device_id=device_id, reprint=True, created_at=now)
        session.add(job)
        session.flush()
    log.info("check-in again: booking %s keeps ticket %s", booking.id, ticket.number)
    return CheckinResult(
        info=ticket_info(session, calendar, ticket),
        booking_id=booking.id or 0,
        staff_id=ticket.staff_id,
        print_job_id=job.id,
        reprint=True,
    )


def _next_seq(session: Session, day: date, letter: str) -> int:
    """Take the next ticket sequence of a letter on an office day, in one upsert.

    The upsert's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) makes two
    kiosks take two different numbers.
    """
    dialect = sqlite if is_sqlite(session) else postgresql
    insert = dialect.insert(TicketCounter).values(office_day=day, letter=letter, last_seq=1)
    upsert = insert.on_conflict_do_update(
        index_elements=["office_day", "letter"],
        set_={"last_seq": col(TicketCounter.last_seq) + 1},
    ).returning(col(TicketCounter.last_seq))
    return int(session.execute(upsert).scalar_one())
