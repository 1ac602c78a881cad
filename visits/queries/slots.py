"""Free time slots for a service (§29): working days, hours, lunch, taken time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.errors import InvalidInput
from visits.models import Room, Service, SlotHold, Staff, StaffService


@dataclass(frozen=True)
class Slot:
    staff_id: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime

    @property
    def key(self) -> str:
        """The slot's id in a form: staff and start, checked again on booking."""
        return f"{self.staff_id}-{int(self.starts_at.timestamp())}"


def slot_key_parse(key: str) -> tuple[int, datetime] | None:
    """Parse a slot id from a form; None if it is not one."""
    parts = (key or "").split("-")
    # Bounded lengths: a staff id must fit a database integer, a time a datetime.
    if (
        len(parts) != 2
        or not all(p.isascii() and p.isdigit() for p in parts)
        or len(parts[0]) > 9
        or len(parts[1]) > 10
    ):
        return None
    try:
        return int(parts[0]), datetime.fromtimestamp(int(parts[1]), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def service_staff(session: Session, service_id: int) -> list[Staff]:
    """Active specialists who serve a service, by surname.

    Only those with a room: a booking names the room (§31), so a specialist
    without one cannot be booked and is not offered.
    """
    stmt = (
        select(Staff)
        .join(StaffService, col(StaffService.staff_id) == col(Staff.id))
        .where(
            StaffService.service_id == service_id,
            col(Staff.active).is_(True),
            col(Staff.room_id).is_not(None),
        )
        .order_by(Staff.surname, Staff.first_name)
    )
    return list(session.exec(stmt).all())


@dataclass(frozen=True)
class Specialist:
    """A specialist as the booking screen names them: person and room (§31)."""

    staff: Staff
    room: Room


def service_specialists(session: Session, service_id: int) -> list[Specialist]:
    """The specialists of a service with their rooms, by surname."""
    result = []
    for member in service_staff(session, service_id):
        room = session.get(Room, member.room_id) if member.room_id else None
        if room is not None:
            result.append(Specialist(member, room))
    return result


def bookable_services(session: Session) -> list[Service]:
    """Active services that at least one specialist with a room serves, by name."""
    stmt = (
        select(Service)
        .where(col(Service.active).is_(True))
        .where(
            col(Service.id).in_(
                select(StaffService.service_id)
                .join(Staff, col(Staff.id) == col(StaffService.staff_id))
                .where(col(Staff.active).is_(True), col(Staff.room_id).is_not(None))
            )
        )
        .order_by(Service.name)
    )
    return list(session.exec(stmt).all())


def service_for_booking(session: Session, service_id: int | None) -> Service:
    """The active service with this id, or InvalidInput for a missing or unknown one."""
    service = session.get(Service, service_id) if service_id else None
    if service is None or not service.active:
        raise InvalidInput("Такой услуги нет. Выберите услугу из списка.", field="service")
    return service


def cells_of(starts_at: datetime, duration_minutes: int, cell_minutes: int) -> list[datetime]:
    """The slot-sized cells a visit of this length holds."""
    count = -(-duration_minutes // cell_minutes)
    return [starts_at + timedelta(minutes=cell_minutes * i) for i in range(count)]


def booking_horizon_end(calendar: WorkCalendar, *, now: datetime | None = None) -> date:
    """The last working day a booking may fall on (§29: the next N working days)."""
    first = calendar.to_local(now or utcnow()).date()
    days = list(calendar.working_days(first, calendar.config.office.booking_horizon_working_days))
    return days[-1] if days else first


def slots_by_day(calendar: WorkCalendar, slots: list[Slot]) -> dict[date, list[Slot]]:
    """Group slots by their local day, days and times in order."""
    result: dict[date, list[Slot]] = {}
    for slot in sorted(slots, key=lambda s: (s.starts_at, s.staff_id)):
        result.setdefault(calendar.to_local(slot.starts_at).date(), []).append(slot)
    return result


def free_slots(
    session: Session,
    calendar: WorkCalendar,
    *,
    service: Service,
    first_day: date | None = None,
    days: int | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots of every specialist of a service over the next working days.

    Excludes non-working days, the lunch break, the past and taken time.
    """
    config = calendar.config.office
    cell = config.slot_minutes
    now = now or utcnow()
    first_day = first_day or calendar.to_local(now).date()
    staff = [s for s in service_staff(session, service.id or 0) if staff_id in (None, s.id)]
    if not staff:
        return []
    day_list = list(calendar.working_days(first_day, days or config.booking_horizon_working_days))
    if not day_list:
        return []
    range_start = calendar.at(day_list[0], datetime.min.time()).astimezone(UTC)
    range_end = calendar.at(day_list[-1] + timedelta(days=1), datetime.min.time()).astimezone(UTC)
    taken: dict[int, set[datetime]] = defaultdict(set)
    rows = session.exec(
        select(SlotHold.staff_id, SlotHold.starts_at).where(
            col(SlotHold.staff_id).in_([s.id for s in staff]),
            SlotHold.starts_at >= range_start,
            SlotHold.starts_at < range_end,
        )
    ).all()
    for holder, start in rows:
        taken[holder].add(start.astimezone(UTC))
    length = timedelta(minutes=service.duration_minutes)
    result: list[Slot] = []
    for day in day_list:
        for period in calendar.periods_on(day):
            end = period.end.astimezone(UTC)
            cursor = _on_grid(period.start, cell).astimezone(UTC)
            while cursor + length <= end:
                if cursor >= now:
                    cells = cells_of(cursor, service.duration_minutes, cell)
                    for member in staff:
                        assert member.id is not None
                        busy = taken.get(member.id)
                        if not busy or not any(c in busy for c in cells):
                            result.append(Slot(member.id, cursor, cursor + length))
                cursor += timedelta(minutes=cell)
    result.sort(key=lambda s: (s.starts_at, s.staff_id))
    return result


def _on_grid(local: datetime, cell: int) -> datetime:
    """The first wall-clock time at or after `local` on the slot grid (14:00, 14:15, ...).

    After a 13:00-13:48 lunch the first slot is 14:00, not 13:48: times an
    operator can say and a visitor can remember.
    """
    base = local.replace(second=0, microsecond=0)
    if base < local:
        base += timedelta(minutes=1)
    rest = (base.hour * 60 + base.minute) % cell
    return base + timedelta(minutes=(cell - rest) % cell)


def slot_is_bookable(
    calendar: WorkCalendar,
    *,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime | None = None,
) -> str | None:
    """Return why a start time cannot be booked (Russian), or None if it can."""
    now = now or utcnow()
    if starts_at < now:
        return "Это время уже прошло. Выберите другое."
    local = calendar.to_local(starts_at)
    if not calendar.is_working_day(local.date()):
        return "В этот день департамент не работает. Выберите рабочий день."
    # §29: the choice covers the booking horizon; a time beyond it is not offered.
    horizon = calendar.config.office.booking_horizon_working_days
    if local.date() > booking_horizon_end(calendar, now=now):
        return (
            f"Записаться можно не дальше чем на {horizon} рабочих дней вперёд. "
            "Выберите время из списка."
        )
    end = local + timedelta(minutes=duration_minutes)
    cell = calendar.config.office.slot_minutes
    for period in calendar.periods_on(local.date()):
        if period.start <= local and end <= period.end:
            if _on_grid(local, cell) != local:
                return "Такого времени нет в расписании. Выберите время из списка."
            return None
    return "Это время вне часов приёма или в обеденный перерыв. Выберите другое."
