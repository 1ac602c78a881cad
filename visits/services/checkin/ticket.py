"""Check-in by the booking code, typed or scanned from the confirmation's QR (§31, §34.3).

The kiosk's busiest path: one write transaction of Core statements built once at
import. The booking is read with its ticket, if any, and the words the ticket
needs in one statement; the number, the ticket, the booking's status, the print
job (on PostgreSQL the three in one statement) and the history entry follow; a reprint
is rare and goes through the ORM.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, is_sqlite, orm_synced, write_transaction
from visits.errors import NotFound, PriyomError
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
from visits.queries.ticket_page import (
    WORD_COLUMNS,
    TicketInfo,
    ticket_info,
    ticket_info_new,
    with_words,
)
from visits.services.checkin.common import (
    KIOSK_ACTOR,
    CheckinRefused,
    CheckinResult,
    office_phones,
    scanned_code,
)
from visits.services.checkin.window import checkin_window_check
from visits.services.history import history_insert
from visits.services.ratelimit import Limits, kiosk_lookup_hit

log = logging.getLogger(__name__)

# A second scan or tap within this time is the same press: no second print job.
SAME_PRESS = timedelta(seconds=15)


def _found_statement(key: str, locked: bool) -> Select[Any]:
    """The booking by its code or id, its ticket if it has one, and the ticket's words."""
    by = col(Booking.code) if key == "code" else col(Booking.id)
    statement = (
        with_words(
            sa_select(
                col(Booking.id).label("booking_id"),
                col(Booking.status).label("status"),
                col(Booking.starts_at).label("starts_at"),
                col(Booking.client_id).label("client_id"),
                col(Booking.service_id).label("service_id"),
                col(Booking.staff_id).label("staff_id"),
                col(Booking.room_id).label("room_id"),
                col(Service.letter).label("letter"),
                col(Ticket.id).label("ticket_id"),
                *WORD_COLUMNS,
            ).select_from(Booking),
            client_id=col(Booking.client_id),
            service_id=col(Booking.service_id),
            staff_id=col(Booking.staff_id),
            room_id=col(Booking.room_id),
        )
        .outerjoin(Ticket, col(Ticket.booking_id) == col(Booking.id))
        .where(by == bindparam(key))
    )
    # PostgreSQL: serialise check-ins of one booking; a second one then sees the ticket.
    return statement.with_for_update(of=Booking) if locked else statement


# Built once: a statement made per call costs more Python than the database's work.
_FOUND = {
    (key, locked): _found_statement(key, locked)
    for key in ("code", "booking_id")
    for locked in (False, True)
}
_TICKET_OF_BOOKING = sa_select(col(Ticket.id)).where(
    col(Ticket.booking_id) == bindparam("booking_id")
)
_TICKET_INSERT = insert(Ticket).returning(col(Ticket.id))
_JOB_INSERT = insert(PrintJob).returning(col(PrintJob.id))
_BOOKING_CHECKED_IN = (
    update(Booking)
    .where(col(Booking.id) == bindparam("booking_id"))
    .values(status=BookingStatus.CHECKED_IN)
)
# The columns of a new ticket that _ticket_issue gives; the rest take their defaults.
_TICKET_VALUES = (
    "number",
    "letter",
    "seq",
    "office_day",
    "booking_id",
    "client_id",
    "token",
    "status",
    "service_id",
    "staff_id",
    "room_id",
    "booked_at",
    "checked_in_at",
    "late_arrival",
    "kiosk_device_id",
)


def _issued_statement() -> Select[Any]:
    """PostgreSQL: the ticket, the booking's status and the print job in one statement.

    Three round trips fewer a check-in. Data-modifying WITH clauses all run, each once;
    the job takes the new ticket's id from its clause. SQLite has no such clauses and
    sends the three statements one by one.
    """
    # Parameters are named apart from the columns (SQLAlchemy keeps the columns' names).
    ticket = (
        insert(Ticket)
        .values({name: bindparam(f"new_{name}") for name in _TICKET_VALUES})
        .returning(col(Ticket.id))
        .cte("new_ticket")
    )
    checked_in = (
        update(Booking)
        .where(col(Booking.id) == bindparam("new_booking_id"))
        .values(status=BookingStatus.CHECKED_IN)
        .cte("checked_in")
    )
    job = (
        insert(PrintJob)
        .values(
            ticket_id=sa_select(ticket.c.id).scalar_subquery(),
            device_id=bindparam("new_kiosk_device_id"),
            created_at=bindparam("new_checked_in_at"),
        )
        .returning(col(PrintJob.id), col(PrintJob.ticket_id))
        .cte("new_job")
    )
    return sa_select(job.c.ticket_id, job.c.id).add_cte(checked_in)


_ISSUED = _issued_statement()


def _next_seq_statement(dialect: Any) -> Any:
    """Take the next sequence of a letter on an office day, in one upsert.

    The upsert's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) makes two
    kiosks take two different numbers.
    """
    insert_counter = dialect.insert(TicketCounter).values(
        office_day=bindparam("office_day"), letter=bindparam("letter"), last_seq=1
    )
    return insert_counter.on_conflict_do_update(
        index_elements=["office_day", "letter"],
        set_={"last_seq": col(TicketCounter.last_seq) + 1},
    ).returning(col(TicketCounter.last_seq))


_NEXT_SEQ = {"sqlite": _next_seq_statement(sqlite), "postgresql": _next_seq_statement(postgresql)}


@dataclass(frozen=True)
class _Due:
    """The booking as the window rule reads it (checkin_window_check)."""

    id: int
    status: BookingStatus
    starts_at: datetime
    service_id: int


def ticket_checkin(
    *,
    session: Session,
    calendar: WorkCalendar,
    code: str,
    device_id: int,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> CheckinResult:
    """Check a booking in by its code (typed or scanned); return its ticket.

    With `limits`, the kiosk's look-up is counted (Limits: against guessing codes) in the
    check-in's own transaction; a refused code or check-in is counted as well.
    """
    key = ("code", scanned_code(code))
    return _checkin_once(session, calendar, key, device_id, now, limits)


def checkin_booking(
    *,
    session: Session,
    calendar: WorkCalendar,
    booking_id: int,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Issue the booking's ticket, or return the one it already has (a reprint)."""
    return _checkin_once(session, calendar, ("booking_id", booking_id), device_id, now, None)


def _checkin_once(
    session: Session,
    calendar: WorkCalendar,
    key: tuple[str, object],
    device_id: int,
    now: datetime | None,
    limits: Limits | None,
) -> CheckinResult:
    now = now or utcnow()
    try:
        return _checkin_counted(session, calendar, key, device_id, now, limits)
    except IntegrityError:
        # Another kiosk checked the same booking in at this very moment (the row
        # lock covers PostgreSQL; this covers the rest): theirs is the ticket.
        session.rollback()
        log.info("check-in of booking %s raced; returning the ticket issued", key[1])
        return _checkin_counted(session, calendar, key, device_id, now, limits)


def _checkin_counted(
    session: Session,
    calendar: WorkCalendar,
    key: tuple[str, object],
    device_id: int,
    now: datetime,
    limits: Limits | None,
) -> CheckinResult:
    """The check-in, the kiosk's look-up counted first in the same transaction (`limits`).

    One write transaction where there were two. A refusal (the limit, an unknown code,
    the window) comes before anything of the check-in is written: the transaction then
    holds the count alone, is committed, and the refusal raised.
    """
    if limits is None:
        return _checkin(session, calendar, key, device_id, now)
    refusal: PriyomError | None = None
    with write_transaction(session):
        try:
            kiosk_lookup_hit(session=session, device_id=device_id, limits=limits, now=now)
            return _checkin(session, calendar, key, device_id, now)
        except PriyomError as exc:
            refusal = exc
    raise refusal


def _checkin(
    session: Session,
    calendar: WorkCalendar,
    key: tuple[str, object],
    device_id: int,
    now: datetime,
) -> CheckinResult:
    """Issue the ticket, its print job, the history row and the staff's push, in one transaction."""
    with write_transaction(session):
        session.flush()  # a booking a caller's own transaction just added must be seen
        found, ticket_id = _found(session, key)
        if ticket_id is not None:
            return _reprint(session, calendar, found.booking_id, ticket_id, device_id, now)
        due = _Due(found.booking_id, found.status, found.starts_at, found.service_id)
        late_minutes = checkin_window_check(session, calendar, due, now)
        info, job_id = _ticket_issue(session, calendar, found, late_minutes, device_id, now)
        _checkin_record(session, found, info, late_minutes, device_id, now)
    orm_synced(session, Booking, found.booking_id, status=BookingStatus.CHECKED_IN)
    log.info(
        "check-in: booking %s -> ticket %s (late %s min)",
        found.booking_id,
        info.number,
        late_minutes,
    )
    return CheckinResult(
        info=info,
        booking_id=found.booking_id,
        staff_id=found.staff_id,
        print_job_id=job_id,
        reprint=False,
    )


def _found(session: Session, key: tuple[str, object]) -> tuple[Row[Any], int | None]:
    """The booking's row (_found_statement), locked where the database can lock a row,
    and the id of its ticket if it has one."""
    connection = session.connection()
    kind, value = key
    found = connection.execute(_FOUND[kind, for_update(session)], {kind: value}).first()
    if found is None:
        if kind == "code":
            log.info("check-in refused: unknown code")
            raise NotFound(
                f"Записи с кодом {value} нет. Проверьте код в сообщении о записи "
                "или найдите запись по номеру телефона.",
                code="checkin_unknown",
            )
        raise NotFound("Запись не найдена.")
    ticket_id: int | None = found.ticket_id
    if ticket_id is None and found.status != BookingStatus.BOOKED:
        # PostgreSQL, after waiting for the lock, reads the booking anew but not the
        # joined ticket: a ticket that other check-in committed is looked up again.
        again = connection.execute(_TICKET_OF_BOOKING, {"booking_id": found.booking_id})
        ticket_id = again.scalar()
    return found, ticket_id


def _ticket_issue(
    session: Session,
    calendar: WorkCalendar,
    found: Row[Any],
    late_minutes: int,
    device_id: int,
    now: datetime,
) -> tuple[TicketInfo, int]:
    """Number a new waiting ticket, mark the booking checked in and add the print job."""
    connection = session.connection()
    day = calendar.to_local(now).date()
    dialect = "sqlite" if is_sqlite(session) else "postgresql"
    seq = int(
        connection.execute(
            _NEXT_SEQ[dialect], {"office_day": day, "letter": found.letter}
        ).scalar_one()
    )
    number, token = f"{found.letter}-{seq:03d}", secrets.token_urlsafe(18)
    values = {
        "number": number,
        "letter": found.letter,
        "seq": seq,
        "office_day": day,
        "booking_id": found.booking_id,
        "client_id": found.client_id,
        "token": token,
        "status": TicketStatus.WAITING,
        "service_id": found.service_id,
        "staff_id": found.staff_id,
        "room_id": found.room_id,
        "booked_at": found.starts_at,
        "checked_in_at": now,
        "late_arrival": late_minutes > 0,
        "kiosk_device_id": device_id,
    }
    ticket_id, job_id = _ticket_filed(connection, dialect, values)
    info = ticket_info_new(
        calendar,
        found,
        ticket_id=ticket_id,
        number=number,
        token=token,
        status=TicketStatus.WAITING,
        office_day=day,
        booked_at=found.starts_at,
        checked_in_at=now,
        late_arrival=late_minutes > 0,
        rated=False,
    )
    return info, job_id


def _ticket_filed(connection: Connection, dialect: str, values: dict[str, Any]) -> tuple[int, int]:
    """Insert the ticket of `values`, mark its booking checked in, add its print job.

    Return the ticket's and the job's ids.
    """
    if dialect == "postgresql":
        issued = connection.execute(
            _ISSUED, {f"new_{name}": values[name] for name in _TICKET_VALUES}
        ).one()
        return int(issued.ticket_id), int(issued.id)
    ticket_id = connection.execute(_TICKET_INSERT, values).scalar_one()
    assert ticket_id is not None
    connection.execute(_BOOKING_CHECKED_IN, {"booking_id": values["booking_id"]})
    job_id = connection.execute(
        _JOB_INSERT,
        {
            "ticket_id": ticket_id,
            "device_id": values["kiosk_device_id"],
            "created_at": values["checked_in_at"],
        },
    ).scalar_one()
    assert job_id is not None
    return int(ticket_id), int(job_id)


def _checkin_record(
    session: Session,
    found: Row[Any],
    info: TicketInfo,
    late_minutes: int,
    device_id: int,
    now: datetime,
) -> None:
    """Write the check-in to the client's history (§4) and tell the staff's screens."""
    summary = f"Регистрация в терминале, талон {info.number}. {info.visit_sentence}" + (
        f" Опоздание {late_minutes} мин." if late_minutes else ""
    )
    history_insert(
        session,
        client_id=found.client_id,
        kind=HistoryKind.CHECKED_IN,
        actor=KIOSK_ACTOR,
        booking_id=found.booking_id,
        ticket_id=info.ticket_id,
        summary=summary,
        data={"late_minutes": late_minutes, "device_id": device_id},
        at=now,
    )
    push_emit(
        session,
        "ticket.checked_in",
        [f"staff:{found.staff_id}", "admin"],
        ticket_id=info.ticket_id,
    )


def _reprint(
    session: Session,
    calendar: WorkCalendar,
    booking_id: int,
    ticket_id: int,
    device_id: int,
    now: datetime,
) -> CheckinResult:
    """Return the booking's ticket again, printed again unless this is the same press."""
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    assert ticket is not None
    if ticket.status == TicketStatus.DONE:
        raise CheckinRefused(
            "Приём по этой записи уже завершён. Если остался вопрос, "
            f"позвоните по телефону {office_phones(calendar)} или запишитесь снова.",
            reason="finished",
            booking_id=booking_id,
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
    log.info("check-in again: booking %s keeps ticket %s", booking_id, ticket.number)
    return CheckinResult(
        info=ticket_info(session, calendar, ticket),
        booking_id=booking_id,
        staff_id=ticket.staff_id,
        print_job_id=job.id,
        reprint=True,
    )
