"""Free time slots for a service (§29): working days, hours, lunch, taken time."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from visits.calendar import Period, WorkCalendar, utcnow
from visits.db import epoch_seconds_list
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
    """The specialists of a service with their rooms, by surname (as service_staff)."""
    stmt = (
        select(Staff, Room)
        .join(StaffService, col(StaffService.staff_id) == col(Staff.id))
        .join(Room, col(Room.id) == col(Staff.room_id))
        .where(StaffService.service_id == service_id, col(Staff.active).is_(True))
        .order_by(Staff.surname, Staff.first_name)
    )
    return [Specialist(member, room) for member, room in session.exec(stmt).all()]


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


@dataclass(frozen=True)
class DayGrid:
    """The slot grid of one working day: every cell start, and where a visit may begin."""

    day: date
    starts: tuple[datetime, ...]  # UTC start of each cell, in order
    valid: int  # bit i set: a visit of the service's length may start at cell i
    cells: dict[int, tuple[date, int]]  # a cell's start in epoch seconds -> (day, its bit)


@lru_cache(maxsize=256)
def _day_layout(day: date, periods: tuple[Period, ...], cell: int, cells_needed: int) -> DayGrid:
    """A day's cells and the starts where a visit of `cells_needed` cells fits.

    The layout depends only on the day's working periods and the visit length,
    so the 30 days of a month grid are built once per process, not per request;
    `periods` in the key means a changed timetable gets a new layout.
    """
    starts: list[datetime] = []
    period_of: list[int] = []
    step = timedelta(minutes=cell)
    for number, period in enumerate(periods):
        end = period.end.astimezone(UTC)
        cursor = _on_grid(period.start, cell).astimezone(UTC)
        while cursor + step <= end:
            starts.append(cursor)
            period_of.append(number)
            cursor += step
    valid = 0
    for i in range(len(starts)):
        last = i + cells_needed - 1
        # Cells of one period are contiguous, so the visit's end is inside that period.
        if last < len(starts) and period_of[last] == period_of[i]:
            valid |= 1 << i
    cells = {int(start.timestamp()): (day, 1 << i) for i, start in enumerate(starts)}
    return DayGrid(day=day, starts=tuple(starts), valid=valid, cells=cells)


@dataclass
class SlotGrid:
    """Free start times as one bit mask per specialist and day.

    Counting the free times of 60 specialists over 30 working days is a few
    thousand integer operations; Slot objects are made only for the day shown.
    """

    length: timedelta
    days: list[DayGrid]
    free: dict[tuple[int, date], int]

    def counts_by_staff(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for (staff_id, _day), mask in self.free.items():
            counts[staff_id] += mask.bit_count()
        return dict(counts)

    def counts_by_day(self, staff_id: int | None = None) -> dict[date, int]:
        counts: dict[date, int] = defaultdict(int)
        for (member, day), mask in self.free.items():
            if staff_id in (None, member):
                counts[day] += mask.bit_count()
        return {day: n for day, n in counts.items() if n}

    def _day(self, day: date) -> DayGrid | None:
        return next((grid for grid in self.days if grid.day == day), None)

    def slots_on(self, day: date, staff_id: int | None = None) -> list[Slot]:
        grid = self._day(day)
        if grid is None:
            return []
        result = []
        for (member, on), mask in self.free.items():
            if on != day or staff_id not in (None, member):
                continue
            while mask:
                low = mask & -mask
                start = grid.starts[low.bit_length() - 1]
                result.append(Slot(member, start, start + self.length))
                mask ^= low
        result.sort(key=lambda slot: (slot.starts_at, slot.staff_id))
        return result

    def times_on(self, day: date) -> list[tuple[Slot, int]]:
        """Each free start time of a day once, and how many other specialists are free then.

        A time is offered with the specialist who has the most free time that day
        (the load spreads evenly; ties go to the lower id). Worked out on the masks:
        sixty specialists would otherwise be thousands of Slot objects a request.
        """
        grid = self._day(day)
        if grid is None:
            return []
        members = [(member, mask) for (member, on), mask in self.free.items() if on == day]
        members.sort(key=lambda item: (-item[1].bit_count(), item[0]))
        remaining = 0
        for _member, mask in members:
            remaining |= mask
        result = []
        while remaining:
            low = remaining & -remaining
            free_then = [member for member, mask in members if mask & low]
            start = grid.starts[low.bit_length() - 1]
            result.append((Slot(free_then[0], start, start + self.length), len(free_then) - 1))
            remaining ^= low
        return result

    def all_slots(self) -> list[Slot]:
        return [slot for grid in self.days for slot in self.slots_on(grid.day)]


def slot_grid(
    session: Session,
    calendar: WorkCalendar,
    *,
    service: Service,
    first_day: date | None = None,
    days: int | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
    members: list[Staff] | None = None,
) -> SlotGrid:
    """Free start times of every specialist of a service over the next working days (§29).

    Excludes non-working days, the lunch break, the past and taken time.
    `members` is the service's `service_staff`, when the caller has read it already.
    """
    config = calendar.config.office
    cell = config.slot_minutes
    now = now or utcnow()
    first_day = first_day or calendar.to_local(now).date()
    length = timedelta(minutes=service.duration_minutes)
    cells_needed = -(-service.duration_minutes // cell)
    if members is None:
        members = service_staff(session, service.id or 0)
    staff = [s for s in members if staff_id in (None, s.id)]
    day_list = list(calendar.working_days(first_day, days or config.booking_horizon_working_days))
    if not staff or not day_list:
        return SlotGrid(length=length, days=[], free={})
    grids, cell_at = _day_grids(calendar, day_list, cell, cells_needed, now)
    range_start = calendar.at(day_list[0], datetime.min.time()).astimezone(UTC)
    range_end = calendar.at(day_list[-1] + timedelta(days=1), datetime.min.time()).astimezone(UTC)
    busy = _held_cells(session, [s.id for s in staff], range_start, range_end, cell_at)
    free = _free_masks(staff, grids, busy, cells_needed)
    return SlotGrid(length=length, days=grids, free=free)


def _day_grids(
    calendar: WorkCalendar, day_list: list[date], cell: int, cells_needed: int, now: datetime
) -> tuple[list[DayGrid], dict[int, tuple[date, int]]]:
    """Each day's start cells, the past of today removed, and where each cell's time falls."""
    grids: list[DayGrid] = []
    cell_at: dict[int, tuple[date, int]] = {}
    for day in day_list:
        grid = _day_layout(day, tuple(calendar.periods_on(day)), cell, cells_needed)
        if grid.starts and grid.starts[0] < now:
            # Today: no visit starts in the past.
            past = (1 << bisect_left(grid.starts, now)) - 1
            grid = replace(grid, valid=grid.valid & ~past)
        grids.append(grid)
        cell_at.update(grid.cells)
    return grids, cell_at


def _held_cells(
    session: Session,
    staff_ids: list[int | None],
    range_start: datetime,
    range_end: datetime,
    cell_at: dict[int, tuple[date, int]],
) -> dict[int, dict[date, int]]:
    """The held cells of each specialist, as a bit mask per day."""
    # A month of a large office is thousands of held cells: one row per specialist,
    # the times as epoch seconds, not a row and an aware datetime per cell.
    rows = (
        session.connection()
        .execute(
            select(SlotHold.staff_id, epoch_seconds_list(SlotHold.starts_at))
            .where(
                col(SlotHold.staff_id).in_(staff_ids),
                SlotHold.starts_at >= range_start,
                SlotHold.starts_at < range_end,
            )
            .group_by(col(SlotHold.staff_id))
        )
        .all()
    )
    busy: dict[int, dict[date, int]] = {}
    for holder, starts in rows:
        taken = busy[holder] = {}
        for found in map(cell_at.get, map(int, starts.split(","))):
            if found is not None:
                taken[found[0]] = taken.get(found[0], 0) | found[1]
    return busy


def _free_masks(
    staff: list[Staff],
    grids: list[DayGrid],
    busy: dict[int, dict[date, int]],
    cells_needed: int,
) -> dict[tuple[int, date], int]:
    """Free start cells per specialist and day: valid starts whose every cell is free."""
    free: dict[tuple[int, date], int] = {}
    for member in staff:
        if member.id is None:
            continue
        taken = busy.get(member.id, {})
        for grid in grids:
            mask = grid.valid
            held = taken.get(grid.day)
            if held:
                # A visit may not start where any of its cells is held.
                blocked = 0
                for shift in range(cells_needed):
                    blocked |= held >> shift
                mask &= ~blocked
            if mask:
                free[(member.id, grid.day)] = mask
    return free


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
    """Free slots of every specialist of a service, in time order (see slot_grid)."""
    grid = slot_grid(
        session,
        calendar,
        service=service,
        first_day=first_day,
        days=days,
        staff_id=staff_id,
        now=now,
    )
    return grid.all_slots()


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
