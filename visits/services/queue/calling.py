"""Calling a ticket: the next one, one out of turn, again; then the visit starts (§33-34)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict
from visits.models import (
    Booking,
    Client,
    HistoryKind,
    PushEvent,
    Room,
    RoomReservation,
    Service,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.queries.today import CalledRead, waiting_count_of_staff
from visits.ru import minutes_phrase
from visits.rules import apology_due, apology_text, day_window
from visits.services.history import ticket_event_record
from visits.services.queue.common import (
    TicketChange,
    active_number_of_staff,
    own_ticket,
    own_ticket_with,
    room_of,
    row_write,
    staff_busy,
    staff_ensure_free,
    staff_locked,
    ticket_client,
    ticket_push,
    ticket_reads,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallResult:
    """A called ticket, the apology to say when the call is late, and the call's pushed event."""

    ticket: Ticket
    # §34.4: the apology prompt when the call is late, else None.
    apology: str | None
    # Its id, set at commit, lets the caller's own screen know the event's echo.
    event: PushEvent
    client: Client
    # What the day shows of the called row, when the call read it (call next).
    read: CalledRead | None = None


def lateness(
    *,
    booked_at: datetime,
    checked_in_at: datetime,
    called_at: datetime,
    transferred_at: datetime | None = None,
) -> int:
    """Return the whole minutes the specialist started late (§34.4), 0 if on time.

    Counted from the booked time, or from the check-in when the visitor came
    later than booked: waiting for a late visitor is not the specialist's delay.
    After a transfer it is counted again from the transfer, against the new
    specialist: the visitor waits for them from that moment.
    """
    reference = max(booked_at, checked_in_at, transferred_at or booked_at)
    minutes = int((called_at - reference).total_seconds() // 60)
    return max(minutes, 0)


# The row that follows the call's first read (SQLAlchemy's select types its columns).
_NextWaiting = tuple[
    Ticket, Room, Client, Booking, Service, RoomReservation | None, str | None, int
]


def _next_waiting(*, locking: bool) -> Select[*_NextWaiting]:
    """The specialist's first waiting ticket of the day, with its room and client, and the
    number of her current (called or served) ticket if she has one: she must be free.

    With it, what the panel shows of the called row (its booking, service, open meeting-room
    reservation, and how many wait, this ticket still among them): the answer to the call
    then reads nothing more.
    """
    stmt = (
        sa_select(
            Ticket,
            Room,
            Client,
            Booking,
            Service,
            RoomReservation,
            active_number_of_staff(),
            waiting_count_of_staff(),
        )
        .join(Room, col(Room.id) == Ticket.room_id)
        .join(Client, col(Client.id) == Ticket.client_id)
        .join(Booking, col(Booking.id) == Ticket.booking_id)
        .join(Service, col(Service.id) == Ticket.service_id)
        .outerjoin(
            RoomReservation,
            and_(
                col(RoomReservation.ticket_id) == Ticket.id,
                col(RoomReservation.released_at).is_(None),
            ),
        )
        .where(
            col(Ticket.staff_id) == bindparam("staff_id"),
            col(Ticket.status) == TicketStatus.WAITING,
            col(Ticket.booked_at) >= bindparam("day_start"),
            col(Ticket.booked_at) < bindparam("day_end"),
        )
        # Priority is the original booked time, also after a transfer (§23).
        .order_by(col(Ticket.booked_at), col(Ticket.id))
        .limit(1)
        .execution_options(populate_existing=True)
    )
    # PostgreSQL: a ticket another call holds is skipped, not waited for.
    return stmt.with_for_update(skip_locked=True, of=Ticket) if locking else stmt


# Built once (by whether the database locks rows): every call runs it, under the write lock.
_NEXT_WAITING = {locking: _next_waiting(locking=locking) for locking in (False, True)}


def ticket_call_next(
    *, session: Session, calendar: WorkCalendar, staff: Staff, now: datetime | None = None
) -> CallResult:
    """Call the waiting ticket with the earliest booked time for this specialist today."""
    now = now or utcnow()
    with write_transaction(session):
        staff_locked(session, staff)
        start, end = day_window(calendar, now)
        # The ticket with its room and client in one read (the call's record names both),
        # whether she is still busy, and its row as the panel shows it.
        found = session.execute(
            _NEXT_WAITING[for_update(session)],
            params={"staff_id": staff.id, "day_start": start, "day_end": end},
        ).first()
        if found is None:
            staff_ensure_free(session, staff)  # busy says more than an empty queue
            raise Conflict("Сейчас никто не ждёт вызова. Список обновлён.", code="queue_empty")
        ticket, room, client, booking, service, reservation, busy, waiting = found
        if busy is not None:
            raise staff_busy(busy)
        read = CalledRead(booking, service, reservation, waiting - 1)
        return _call(session, calendar, staff, ticket, now, room=room, client=client, read=read)


def ticket_call(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
) -> CallResult:
    """Call a chosen waiting ticket out of turn."""
    now = now or utcnow()
    with write_transaction(session):
        staff_locked(session, staff)
        ticket = own_ticket(session, staff, ticket_id, TicketStatus.WAITING)
        staff_ensure_free(session, staff)
        room, client = room_of(session, ticket.room_id), ticket_client(session, ticket)
        return _call(session, calendar, staff, ticket, now, room=room, client=client)


def _call(
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket: Ticket,
    now: datetime,
    *,
    room: Room,
    client: Client,
    read: CalledRead | None = None,
) -> CallResult:
    """Mark the ticket called, record it, tell the displays, and prompt an apology if late."""
    first_call = ticket.late_start_minutes is None
    late = ticket.late_start_minutes or 0
    if first_call:
        # §34.4: lateness is measured at the first call and kept per specialist.
        late = lateness(
            booked_at=ticket.booked_at,
            checked_in_at=ticket.checked_in_at,
            called_at=now,
            transferred_at=ticket.transferred_at,
        )
    row_write(
        session,
        ticket,
        status=TicketStatus.CALLED,
        called_at=now,
        called_by_staff_id=staff.id,
        recall_count=0,
        started_at=None,
        late_start_minutes=late if first_call else ticket.late_start_minutes,
    )
    summary = f"Талон {ticket.number} вызван: {room.place}. Специалист {staff.full_name}."
    if first_call and late > 0:
        summary += f" Вызов на {minutes_phrase(late)} позже записи."
    ticket_event_record(
        session,
        ticket=ticket,
        staff=staff,
        kind=HistoryKind.CALLED,
        summary=summary,
        action="ticket.call",
        data={"late_start_minutes": late},
    )
    event = ticket_push(session, "ticket.called", ticket)
    apology = None
    if apology_due(ticket, calendar.config.office.apology_after_minutes):
        apology = apology_text(minutes=late, client=client)
    log.info("ticket %s called by %s (late %s min)", ticket.number, staff.login, late)
    return CallResult(ticket=ticket, apology=apology, event=event, client=client, read=read)


def ticket_recall(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Repeat the call on the hallway displays."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = own_ticket(session, staff, ticket_id, TicketStatus.CALLED)
        ticket.recall_count += 1
        session.add(ticket)
        room = room_of(session, ticket.room_id)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.RECALLED,
            summary=f"Талон {ticket.number}: повторный вызов №{ticket.recall_count}, {room.place}.",
            action="ticket.recall",
        )
        ticket_push(session, "ticket.recalled", ticket)
    return ticket


# The ticket to start with its room (its record names the room), and what the day shows of
# its row (client, booking, service, open meeting-room reservation, how many wait), built once.
_STARTING = ticket_reads(
    (Room, col(Room.id) == Ticket.room_id),
    (Client, col(Client.id) == Ticket.client_id),
    (Booking, col(Booking.id) == Ticket.booking_id),
    (Service, col(Service.id) == Ticket.service_id),
    outer=(
        RoomReservation,
        and_(
            col(RoomReservation.ticket_id) == Ticket.id,
            col(RoomReservation.released_at).is_(None),
        ),
    ),
    columns=(waiting_count_of_staff(),),
)


def ticket_start(
    *,
    session: Session,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> Ticket:
    """Begin the service: the visitor came in."""
    return ticket_start_change(
        session=session, staff=staff, ticket_id=ticket_id, now=now, calendar=calendar
    ).ticket


def ticket_start_change(
    *,
    session: Session,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> TicketChange:
    """Begin the service: the visitor came in; with the event pushed and, given the office's
    `calendar` (its day), what the day shows of the row, for the panel's answer."""
    now = now or utcnow()
    with write_transaction(session):
        start, end = day_window(calendar, now) if calendar else (now, now)
        ticket, room, client, booking, service, reservation, waiting = own_ticket_with(
            session,
            staff,
            ticket_id,
            _STARTING,
            TicketStatus.CALLED,
            staff_id=staff.id,
            day_start=start,
            day_end=end,
        )
        row_write(session, ticket, status=TicketStatus.IN_SERVICE, started_at=now)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.SERVICE_STARTED,
            summary=f"Талон {ticket.number}: приём начат, {room.place}. "
            f"Специалист {staff.full_name}.",
            action="ticket.start",
        )
        event = ticket_push(session, "queue.changed", ticket)
    read = CalledRead(booking, service, reservation, waiting) if calendar else None
    return TicketChange(ticket=ticket, event=event, client=client, read=read)
