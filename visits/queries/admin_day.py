"""The administrator's view of the office day: rooms, queues, waits, devices, late starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    Client,
    Device,
    Room,
    RoomKind,
    RoomReservation,
    Service,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.rules import ACTIVE, apology_due, day_window

# A device that has not been heard from for this long is shown as offline.
DEVICE_OFFLINE_AFTER = timedelta(minutes=3)
DEVICE_KIND_WORDS = {"kiosk": "Терминал", "display": "Табло", "tablet": "Планшет оценки"}
STATE_WORDS = {
    TicketStatus.CALLED: "вызван",
    TicketStatus.IN_SERVICE: "на приёме",
}


@dataclass
class RoomLine:
    room: Room
    staff: list[Staff]
    ticket: Ticket | None = None
    client_name: str = ""
    service: str = ""
    state: str = ""
    since: datetime | None = None
    reservation: RoomReservation | None = None
    waiting: int = 0


@dataclass(frozen=True)
class ServiceLine:
    service: Service
    waiting: int
    longest_wait_minutes: int


@dataclass(frozen=True)
class DeviceLine:
    device: Device
    kind_word: str
    online: bool
    printer_error: str


@dataclass(frozen=True)
class LateStart:
    ticket_number: str
    staff: str
    booked_at: datetime
    minutes: int


@dataclass
class AdminDay:
    now: datetime
    rooms: list[RoomLine]
    services: list[ServiceLine]
    devices: list[DeviceLine]
    late_starts: list[LateStart]
    average_wait_minutes: int | None
    checked_in: int = 0
    served: int = 0
    no_show: int = 0
    waiting: int = 0
    late_by_staff: dict[str, int] = field(default_factory=dict)


def admin_day(session: Session, calendar: WorkCalendar, now: datetime | None = None) -> AdminDay:
    """Everything the administrator watches during the day, read in a few queries."""
    now = now or utcnow()
    start, end = day_window(calendar, now)
    tickets = session.exec(
        select(Ticket)
        .where(col(Ticket.booked_at) >= start, col(Ticket.booked_at) < end)
        .order_by(col(Ticket.booked_at))
    ).all()
    staff_all = session.exec(select(Staff).order_by(Staff.surname)).all()
    services = {s.id: s for s in session.exec(select(Service).order_by(Service.letter)).all()}
    late = _late_starts(tickets, staff_all, calendar.config.office.apology_after_minutes)
    late_by_staff: dict[str, int] = {}
    for item in late:
        late_by_staff[item.staff] = late_by_staff.get(item.staff, 0) + 1
    return AdminDay(
        now=now,
        rooms=_room_lines(session, tickets, staff_all, services, now),
        services=_service_lines(services, tickets, now),
        devices=_device_lines(session, now),
        late_starts=late,
        average_wait_minutes=_average_wait_minutes(tickets),
        checked_in=len(tickets),
        served=sum(1 for t in tickets if t.status == TicketStatus.DONE),
        no_show=sum(1 for t in tickets if t.status == TicketStatus.NO_SHOW),
        waiting=sum(1 for t in tickets if t.status == TicketStatus.WAITING),
        late_by_staff=late_by_staff,
    )


def _room_lines(
    session: Session,
    tickets: Sequence[Ticket],
    staff_all: Sequence[Staff],
    services: dict[int | None, Service],
    now: datetime,
) -> list[RoomLine]:
    """Each working room (not the hall): who sits there, whom they serve, who waits."""
    clients = {
        c.id: c
        for c in session.exec(
            select(Client).where(col(Client.id).in_({t.client_id for t in tickets}))
        ).all()
    }
    reservations = session.exec(
        select(RoomReservation).where(
            col(RoomReservation.released_at).is_(None),
            col(RoomReservation.starts_at) <= now,
            col(RoomReservation.ends_at) > now,
        )
    ).all()
    rooms = []
    for room in session.exec(
        select(Room).where(col(Room.active).is_(True)).order_by(col(Room.floor), col(Room.number))
    ).all():
        if room.kind == RoomKind.HALL:
            continue
        line = RoomLine(room=room, staff=[s for s in staff_all if s.room_id == room.id])
        line.reservation = next((r for r in reservations if r.room_id == room.id), None)
        active = next((t for t in tickets if t.room_id == room.id and t.status in ACTIVE), None)
        if active is not None:
            client = clients.get(active.client_id)
            line.ticket = active
            line.client_name = client.address_name if client else ""
            line.service = services[active.service_id].name
            line.state = STATE_WORDS[active.status]
            line.since = active.started_at or active.called_at
        line.waiting = sum(
            1 for t in tickets if t.room_id == room.id and t.status == TicketStatus.WAITING
        )
        if line.staff or line.ticket or room.kind == RoomKind.MEETING:
            rooms.append(line)
    return rooms


def _service_lines(
    services: dict[int | None, Service], tickets: Sequence[Ticket], now: datetime
) -> list[ServiceLine]:
    lines = []
    for service in services.values():
        waiting = [
            t for t in tickets if t.service_id == service.id and t.status == TicketStatus.WAITING
        ]
        longest = max(
            (int((now - t.checked_in_at).total_seconds() // 60) for t in waiting), default=0
        )
        lines.append(ServiceLine(service, len(waiting), max(longest, 0)))
    return lines


def _average_wait_minutes(tickets: Sequence[Ticket]) -> int | None:
    waits = [
        (t.called_at - t.checked_in_at).total_seconds()
        for t in tickets
        if t.called_at is not None and t.called_at >= t.checked_in_at
    ]
    return int(sum(waits) / len(waits) // 60) if waits else None


def _late_starts(
    tickets: Sequence[Ticket], staff_all: Sequence[Staff], apology_after: int
) -> list[LateStart]:
    """§34.4: the calls later than the apology threshold, by the specialist who called."""
    names = {s.id: s.short_name for s in staff_all}
    return [
        LateStart(
            ticket_number=t.number,
            staff=names.get(t.called_by_staff_id or t.staff_id, ""),
            booked_at=t.booked_at,
            minutes=t.late_start_minutes or 0,
        )
        for t in tickets
        if apology_due(t, apology_after)
    ]


def _device_lines(session: Session, now: datetime) -> list[DeviceLine]:
    return [
        DeviceLine(
            device=d,
            kind_word=DEVICE_KIND_WORDS.get(d.kind, d.kind),
            online=d.last_seen_at is not None and now - d.last_seen_at < DEVICE_OFFLINE_AFTER,
            printer_error=d.printer_error,
        )
        for d in session.exec(
            select(Device).where(col(Device.active).is_(True)).order_by(Device.kind, Device.name)
        ).all()
    ]
