"""The specialist's day (§33-34): today's visits in time order, the current ticket, meeting rooms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ScalarSelect, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, and_, col, func, or_, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    ColleagueInvite,
    Role,
    Room,
    RoomKind,
    RoomReservation,
    Service,
    Staff,
    StaffService,
    Ticket,
    TicketStatus,
)
from visits.ru import date_with_weekday
from visits.rules import (
    ACTIVE,
    NO_SHOW_AFTER,
    NO_SHOW_RECALLS,
    apology_due,
    apology_text,
    day_window,
    department_apology_text,
    no_show_allowed,
)


@dataclass(frozen=True)
class TodayRow:
    booking: Booking
    ticket: Ticket | None
    client: Client
    service: Service
    # not_arrived / waiting / called / in_service / done / no_show / cancelled / transferred
    state: str
    label: str
    booked_at: datetime
    # The ticket was handed to this specialist by a colleague (§23).
    transferred_in: bool = False


@dataclass(frozen=True)
class InviteNotice:
    invite: ColleagueInvite
    from_staff: Staff
    room: Room
    ticket_number: str


@dataclass
class TodayBoard:
    staff: Staff
    day: date
    now: datetime
    rows: list[TodayRow]
    active: TodayRow | None = None
    apology: str | None = None
    # §35.5: the apology when the specialist marked the department's fault.
    fault_apology: str | None = None
    no_show_allowed: bool = False
    no_show_hint: str = ""
    reservation: RoomReservation | None = None
    reservation_room: Room | None = None
    invites: list[InviteNotice] = field(default_factory=list)
    next_row: TodayRow | None = None
    waiting_count: int = 0

    @property
    def day_text(self) -> str:
        return date_with_weekday(self.day)


def _label(row_state: str, ticket: Ticket | None, calendar: WorkCalendar, who: str) -> str:
    if row_state == "waiting" and ticket is not None:
        return f"Ждёт с {calendar.to_local(ticket.checked_in_at):%H:%M}"
    if row_state == "called" and ticket is not None and ticket.called_at is not None:
        return f"Вызван в {calendar.to_local(ticket.called_at):%H:%M}"
    return {
        "not_arrived": "Ещё не пришёл",
        "in_service": "На приёме",
        "done": "Принят",
        "no_show": "Не подошёл",
        "cancelled": "Запись отменена",
        "transferred": f"Передан: {who}",
    }.get(row_state, row_state)


def today_board(
    session: Session, calendar: WorkCalendar, staff: Staff, now: datetime | None = None
) -> TodayBoard:
    """Today's bookings and tickets of one specialist, by booked time, and the current ticket."""
    now = now or utcnow()
    rows = _today_rows(session, calendar, staff, now)
    board = TodayBoard(staff=staff, day=calendar.to_local(now).date(), now=now, rows=rows)
    board.active = next((r for r in rows if r.state in ACTIVE), None)
    board.next_row = next((r for r in rows if r.state == "waiting"), None)
    board.waiting_count = sum(1 for r in rows if r.state == "waiting")
    if board.active is not None and board.active.ticket is not None:
        ticket = board.active.ticket
        reservation = session.exec(_OPEN_RESERVATION, params={"ticket_id": ticket.id}).first()
        _describe_active(session, calendar, board, ticket, now, reservation=reservation)
    board.invites = invites_for(session, staff)
    return board


def _today_rows(
    session: Session, calendar: WorkCalendar, staff: Staff, now: datetime
) -> list[TodayRow]:
    """Bookings to this specialist today and tickets handed to them (§23), by booked time."""
    all_bookings, tickets = _today_bookings_and_tickets(session, calendar, staff, now)
    clients = {
        c.id: c
        for c in session.exec(
            select(Client).where(col(Client.id).in_({b.client_id for b in all_bookings.values()}))
        ).all()
    }
    services = {s.id: s for s in session.exec(select(Service)).all()}
    staff_names = _handed_to_names(session, staff, tickets)
    rows: list[TodayRow] = []
    for booking in all_bookings.values():
        ticket = tickets.get(booking.id or 0)
        service = services[ticket.service_id if ticket else booking.service_id]
        who = staff_names.get(ticket.staff_id, "") if ticket else ""
        rows.append(
            _row(calendar, staff, booking, ticket, clients[booking.client_id], service, who)
        )
    rows.sort(key=lambda r: (r.booked_at, r.booking.id or 0))
    return rows


def _row(
    calendar: WorkCalendar,
    staff: Staff,
    booking: Booking,
    ticket: Ticket | None,
    client: Client,
    service: Service,
    who: str = "",
) -> TodayRow:
    """One visit's row; `who` is the colleague a handed-over ticket went to (§23)."""
    state = _row_state(booking, ticket, staff)
    return TodayRow(
        booking=booking,
        ticket=ticket,
        client=client,
        service=service,
        state=state,
        label=_label(state, ticket, calendar, who),
        booked_at=ticket.booked_at if ticket else booking.starts_at,
        transferred_in=ticket is not None
        and ticket.staff_id == staff.id
        and booking.staff_id != staff.id,
    )


def waiting_count_of_staff() -> ScalarSelect[int]:
    """How many of the specialist's (`staff_id`) tickets of the day (`day_start`, `day_end`)
    wait; on its own alias of the ticket table, so it also counts inside a read of tickets."""
    waiting = aliased(Ticket)
    return (
        sa_select(func.count())
        .select_from(waiting)
        .where(
            col(waiting.staff_id) == bindparam("staff_id"),
            col(waiting.status) == TicketStatus.WAITING,
            col(waiting.booked_at) >= bindparam("day_start"),
            col(waiting.booked_at) < bindparam("day_end"),
        )
        .scalar_subquery()
    )


@dataclass(frozen=True)
class CalledRead:
    """What the day shows of a called ticket besides its room and client, read by the call
    itself (`visits.services.queue.calling`): the answer then needs no read of its own."""

    booking: Booking
    service: Service
    # The ticket's open meeting-room reservation (§35), if any.
    reservation: RoomReservation | None
    # How many still wait after the call.
    waiting: int


# The called row's booking, client and service, its open meeting-room reservation (§35) and
# how many still wait, in one statement built once (every call out of turn runs it).
_CALLED_ROW = (
    # SQLAlchemy's select: SQLModel's types at most four columns.
    sa_select(Booking, Client, Service, RoomReservation, waiting_count_of_staff())
    .join(Client, col(Client.id) == Booking.client_id)
    .join(Service, col(Service.id) == bindparam("service_id"))
    .outerjoin(
        RoomReservation,
        and_(
            col(RoomReservation.ticket_id) == bindparam("ticket_id"),
            col(RoomReservation.released_at).is_(None),
        ),
    )
    .where(col(Booking.id) == bindparam("booking_id"))
)


def today_called(
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket: Ticket,
    now: datetime | None = None,
    *,
    client: Client | None = None,
    read: CalledRead | None = None,
) -> TodayBoard:
    """What a call or a start changes on the day: the ticket as the current row, who still waits.

    The rest of the list is not read: a call or a start changes no other row, and a
    specialist with a current ticket calls nobody out of turn, which the page knows
    without it. When the call read its row already (`client`, `read`), nothing is read.
    """
    now = now or utcnow()
    if client is None or read is None:
        start, end = day_window(calendar, now)
        found = session.execute(
            _CALLED_ROW,
            params={
                "booking_id": ticket.booking_id,
                "service_id": ticket.service_id,
                "ticket_id": ticket.id,
                "staff_id": staff.id,
                "day_start": start,
                "day_end": end,
            },
        ).first()
        assert found is not None  # the called ticket's booking, client and service exist
        booking, client, service, reservation, waiting = found
        read = CalledRead(booking, service, reservation, waiting)
    row = _row(calendar, staff, read.booking, ticket, client, read.service)
    board = TodayBoard(
        staff=staff,
        day=calendar.to_local(now).date(),
        now=now,
        rows=[row],
        active=row,
        waiting_count=read.waiting,
    )
    _describe_active(session, calendar, board, ticket, now, reservation=read.reservation)
    return board


# A finished ticket and the specialist's waiting tickets of the day, with their bookings,
# clients and services, in the list's order: one statement built once (every finish reads it).
_FREED_ROWS = (
    sa_select(Ticket, Booking, Client, Service)
    .join(Booking, col(Booking.id) == Ticket.booking_id)
    .join(Client, col(Client.id) == Booking.client_id)
    .join(Service, col(Service.id) == Ticket.service_id)
    .where(
        or_(
            col(Ticket.id) == bindparam("ticket_id"),
            and_(
                Ticket.staff_id == bindparam("staff_id"),
                Ticket.status == TicketStatus.WAITING,
                col(Ticket.booked_at) >= bindparam("day_start"),
                col(Ticket.booked_at) < bindparam("day_end"),
            ),
        )
    )
    .order_by(col(Ticket.booked_at), col(Booking.id))
)


def today_freed(
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket: Ticket,
    now: datetime | None = None,
) -> TodayBoard:
    """What finishing the current ticket changes on the day: its row, and who waits.

    With no current ticket the waiting rows can be called out of turn again and the
    next one is offered; the other rows do not change, so they are not read.
    """
    now = now or utcnow()
    start, end = day_window(calendar, now)
    rows = [
        _row(calendar, staff, row_booking, row_ticket, row_client, row_service)
        for row_ticket, row_booking, row_client, row_service in session.execute(
            _FREED_ROWS,
            params={
                "ticket_id": ticket.id,
                "staff_id": staff.id,
                "day_start": start,
                "day_end": end,
            },
        )
    ]
    finished = next(r for r in rows if r.ticket is not None and r.ticket.id == ticket.id)
    waiting = [r for r in rows if r is not finished]
    return TodayBoard(
        staff=staff,
        day=calendar.to_local(now).date(),
        now=now,
        rows=[finished, *waiting],
        next_row=waiting[0] if waiting else None,
        waiting_count=len(waiting),
    )


def _today_bookings_and_tickets(
    session: Session, calendar: WorkCalendar, staff: Staff, now: datetime
) -> tuple[dict[int | None, Booking], dict[int, Ticket]]:
    """Read today's bookings of this specialist and those of tickets handed to them, by id."""
    start, end = day_window(calendar, now)
    bookings = session.exec(
        select(Booking).where(
            Booking.staff_id == staff.id,
            col(Booking.starts_at) >= start,
            col(Booking.starts_at) < end,
        )
    ).all()
    tickets_in = session.exec(
        select(Ticket).where(
            Ticket.staff_id == staff.id,
            col(Ticket.booked_at) >= start,
            col(Ticket.booked_at) < end,
        )
    ).all()
    booking_ids = {b.id for b in bookings} | {t.booking_id for t in tickets_in}
    all_bookings = {b.id: b for b in bookings}
    # Only the bookings of tickets handed over from a colleague are not read yet.
    handed_in = booking_ids - set(all_bookings)
    if handed_in:
        all_bookings.update(
            (b.id, b)
            for b in session.exec(select(Booking).where(col(Booking.id).in_(handed_in))).all()
        )
    tickets = {
        t.booking_id: t
        for t in session.exec(select(Ticket).where(col(Ticket.booking_id).in_(booking_ids))).all()
    }
    return all_bookings, tickets


def _handed_to_names(
    session: Session, staff: Staff, tickets: dict[int, Ticket]
) -> dict[int | None, str]:
    """Read the short names of the colleagues this specialist's tickets went to (§23)."""
    # Usually none: then no query at all.
    handed_to = {t.staff_id for t in tickets.values() if t.staff_id != staff.id}
    if not handed_to:
        return {}
    return {
        s.id: s.short_name for s in session.exec(select(Staff).where(col(Staff.id).in_(handed_to)))
    }


def _row_state(booking: Booking, ticket: Ticket | None, staff: Staff) -> str:
    if ticket is None:
        return {
            BookingStatus.CANCELLED: "cancelled",
            BookingStatus.NO_SHOW: "no_show",
            BookingStatus.COMPLETED: "done",
        }.get(booking.status, "not_arrived")
    if ticket.staff_id != staff.id:
        return "transferred"
    return ticket.status


# Built once: the board and every call read it.
_OPEN_RESERVATION = select(RoomReservation).where(
    RoomReservation.ticket_id == bindparam("ticket_id"),
    col(RoomReservation.released_at).is_(None),
)


def _describe_active(
    session: Session,
    calendar: WorkCalendar,
    board: TodayBoard,
    ticket: Ticket,
    now: datetime,
    *,
    reservation: RoomReservation | None,
) -> None:
    """The current ticket's apology prompt (§34.4), no-show hint and meeting room (§35).

    `reservation` is the ticket's open reservation, read by the caller.
    """
    assert board.active is not None
    if apology_due(ticket, calendar.config.office.apology_after_minutes):
        board.apology = apology_text(
            minutes=ticket.late_start_minutes or 0, client=board.active.client
        )
    if ticket.department_fault:
        board.fault_apology = department_apology_text(
            client=board.active.client, reason=ticket.department_fault
        )
    board.no_show_allowed = no_show_allowed(ticket, now)
    if ticket.status == TicketStatus.CALLED and not board.no_show_allowed:
        assert ticket.called_at is not None
        allowed_at = calendar.to_local(ticket.called_at + NO_SHOW_AFTER)
        board.no_show_hint = (
            f"«Не подошёл» можно отметить после {NO_SHOW_RECALLS} повторных вызовов "
            f"(сделано: {ticket.recall_count}) или с {allowed_at:%H:%M}."
        )
    board.reservation = reservation
    if board.reservation is not None:
        board.reservation_room = session.get(Room, board.reservation.room_id)


def invites_for(session: Session, staff: Staff) -> list[InviteNotice]:
    """§35.3: colleagues' invitations this staff member has not closed yet."""
    invites = session.exec(
        select(ColleagueInvite)
        .where(ColleagueInvite.to_staff_id == staff.id, col(ColleagueInvite.seen_at).is_(None))
        .order_by(col(ColleagueInvite.created_at).desc())
    ).all()
    result = []
    for invite in invites:
        sender = session.get(Staff, invite.from_staff_id)
        room = session.get(Room, invite.room_id)
        ticket = session.get(Ticket, invite.ticket_id)
        if sender and room and ticket:
            result.append(InviteNotice(invite, sender, room, ticket.number))
    return result


@dataclass(frozen=True)
class TransferChoice:
    staff: Staff
    room: Room
    services: list[Service]


def transfer_choices(session: Session, staff: Staff) -> list[TransferChoice]:
    """Specialists a ticket can be handed to (§23), with the services each one serves."""
    specialists = session.exec(
        select(Staff)
        .where(
            col(Staff.active).is_(True),
            col(Staff.room_id).is_not(None),
            Staff.id != staff.id,
        )
        .order_by(Staff.surname, Staff.first_name)
    ).all()
    links = session.exec(select(StaffService)).all()
    services = {s.id: s for s in session.exec(select(Service)).all()}
    result = []
    for person in specialists:
        if not person.has_role(Role.SPECIALIST):
            continue
        room = session.get(Room, person.room_id)
        own = [services[link.service_id] for link in links if link.staff_id == person.id]
        if room is not None and own:
            result.append(TransferChoice(person, room, sorted(own, key=lambda s: s.letter)))
    return result


@dataclass(frozen=True)
class ColleagueGroup:
    label: str
    staff: list[Staff]


def colleagues(session: Session, staff: Staff, *, service_id: int) -> list[ColleagueGroup]:
    """§35.3: colleagues to invite into a conversation, the most useful first.

    First those who handle the ticket's service (they know the subject), then the
    rest of the specialist's unit (the unit head among them), then everyone else.
    """
    everyone = session.exec(
        select(Staff)
        .where(col(Staff.active).is_(True), Staff.id != staff.id)
        .order_by(Staff.surname, Staff.first_name)
    ).all()
    handling = set(
        session.exec(select(StaffService.staff_id).where(StaffService.service_id == service_id))
    )
    groups: dict[str, list[Staff]] = {"service": [], "unit": [], "other": []}
    for person in everyone:
        if person.id in handling:
            groups["service"].append(person)
        elif staff.unit and person.unit == staff.unit:
            groups["unit"].append(person)
        else:
            groups["other"].append(person)
    labels = {
        "service": "Ведут этот вопрос",
        "unit": f"Ваш отдел: {staff.unit}" if staff.unit else "Ваш отдел",
        "other": "Другие сотрудники",
    }
    return [ColleagueGroup(labels[key], people) for key, people in groups.items() if people]


@dataclass
class MeetingRoomState:
    room: Room
    current: RoomReservation | None
    current_staff: Staff | None
    current_ticket: str
    upcoming: list[RoomReservation]

    @property
    def free(self) -> bool:
        return self.current is None


def meeting_rooms_now(session: Session, now: datetime | None = None) -> list[MeetingRoomState]:
    """Meeting rooms (§35) with who uses them now and their next reservations."""
    now = now or utcnow()
    rooms = session.exec(
        select(Room)
        .where(Room.kind == RoomKind.MEETING.value, col(Room.active).is_(True))
        .order_by(col(Room.floor), col(Room.number))
    ).all()
    result = []
    for room in rooms:
        reservations = session.exec(
            select(RoomReservation)
            .where(
                RoomReservation.room_id == room.id,
                col(RoomReservation.released_at).is_(None),
                col(RoomReservation.ends_at) > now,
            )
            .order_by(col(RoomReservation.starts_at))
        ).all()
        current = next((r for r in reservations if r.starts_at <= now), None)
        current_staff = session.get(Staff, current.staff_id) if current else None
        ticket = session.get(Ticket, current.ticket_id) if current and current.ticket_id else None
        result.append(
            MeetingRoomState(
                room=room,
                current=current,
                current_staff=current_staff,
                current_ticket=ticket.number if ticket else "",
                upcoming=[r for r in reservations if r.starts_at > now],
            )
        )
    return result


def active_ticket_of(session: Session, staff: Staff) -> Ticket | None:
    """The ticket this specialist is calling or serving now."""
    return session.exec(
        select(Ticket).where(
            Ticket.staff_id == staff.id,
            or_(
                Ticket.status == TicketStatus.CALLED,
                Ticket.status == TicketStatus.IN_SERVICE,
            ),
        )
    ).first()
