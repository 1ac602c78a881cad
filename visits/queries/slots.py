"""Free time slots for a service (§29): working days, hours, lunch, taken time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import Service, SlotHold, Staff, StaffService


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
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[1]) > 12:
        return None
    return int(parts[0]), datetime.fromtimestamp(int(parts[1]), tz=UTC)


def service_staff(session: Session, service_id: int) -> list[Staff]:
    """Active specialists who serve a service, by surname."""
    stmt = (
        select(Staff)
        .join(StaffService, col(StaffService.staff_id) == col(Staff.id))
        .where(StaffService.service_id == service_id, col(Staff.active).is_(True))
        .order_by(Staff.surname)
    )
    return list(session.exec(stmt).all())


def cells_of(starts_at: datetime, duration_minutes: int, cell_minutes: int) -> list[datetime]:
    """The slot-sized cells a visit of this length holds."""
    count = -(-duration_minutes // cell_minutes)
    return [starts_at + timedelta(minutes=cell_minutes * i) for i in range(count)]


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
            start = period.start.astimezone(UTC)
            end = period.end.astimezone(UTC)
            cursor = start
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
    end = local + timedelta(minutes=duration_minutes)
    cell = calendar.config.office.slot_minutes
    for period in calendar.periods_on(local.date()):
        if period.start <= local and end <= period.end:
            offset = (local - period.start).total_seconds() / 60
            if offset % cell:
                return "Такого времени нет в расписании. Выберите время из списка."
            return None
    return "Это время вне часов приёма или в обеденный перерыв. Выберите другое."
