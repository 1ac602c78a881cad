"""The phone operator's booking desk as one read (§29): the chosen service, its month, the times.

The desk keeps its whole state in the address (?client=&service=&day=&staff=&slot=);
`DeskChoice` is that state and `desk_step` turns it into what the right column
shows: the slot picker with its month grid, or the confirmation of a picked time
after re-checking that the time is still free. A choice that no longer holds (an
unknown service, a specialist not of this service, a time taken meanwhile) is
corrected in the returned choice, with the reason for the operator.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.errors import Conflict, InvalidInput, SlotTaken
from visits.models import Booking, BookingStatus, Channel, Client, Room, Service, Staff
from visits.queries.slots import (
    Slot,
    Specialist,
    bookable_services,
    free_slots,
    service_for_booking,
    service_specialists,
    slot_grid,
    slot_is_bookable,
    slot_key_parse,
)
from visits.ru import date_with_weekday
from visits.rules import (
    REMINDER_CHOICE_LABELS,
    reminder_calls_moved,
    reminder_choice,
    reminders_late,
    reminders_moved,
)

log = logging.getLogger(__name__)

UNKNOWN_SLOT = "Такого времени нет в расписании. Выберите время из списка."


def _id(raw: str | None) -> int | None:
    """A database id from the address or a form; None for anything else."""
    value = (raw or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value) or None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class DeskChoice:
    """What the operator has chosen so far; it travels in the address."""

    client_id: int | None = None
    service_id: int | None = None
    day: date | None = None
    staff_id: int | None = None
    slot: str = ""

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> DeskChoice:
        """Read the choice from the address or a form; anything malformed is left out."""
        return cls(
            client_id=_id(values.get("client")),
            service_id=_id(values.get("service")),
            day=_day(values.get("day")),
            staff_id=_id(values.get("staff")),
            slot=(values.get("slot") or "").strip()[:40],
        )

    def params(self, **changes: object) -> dict[str, str]:
        """The choice as address parameters; `changes` set (or with None drop) some."""
        values: dict[str, object] = {
            "client": self.client_id,
            "service": self.service_id,
            "day": self.day.isoformat() if self.day else None,
            "staff": self.staff_id,
            "slot": self.slot or None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class DayCell:
    day: date
    count: int
    working: bool
    in_range: bool


@dataclass(frozen=True)
class SlotView:
    key: str
    time: str
    end: str
    specialist: Specialist
    # Other specialists free at the same time (shown when no specialist is chosen).
    others: int = 0


@dataclass
class SlotsView:
    """Everything the slot picker shows for one service (§29)."""

    service: Service
    specialists: list[Specialist]
    counts_by_staff: dict[int, int]
    weeks: list[list[DayCell]]
    day: date | None
    periods: list[tuple[str, list[SlotView]]] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class DeskConfirm:
    """A picked time, still free when the screen was built, waiting for "Записать"."""

    picked: Specialist
    starts_at: datetime  # UTC
    start: datetime  # office time
    end: datetime
    date_text: str
    submit_key: str  # one per form: a double post gives one booking
    # §30: each reminder choice with why it can no longer reach the client ("" where it can).
    reminders_late: dict[str, str]
    # §30: a reminder the quiet hours move, with the time it will actually go ("" if none).
    reminders_moved: dict[str, str] = field(default_factory=dict)

    @property
    def reminder_options(self) -> list[tuple[str, str, str]]:
        """(choice, label, why it is too late or "") for each §30 reminder choice."""
        return [(c, label, self.reminders_late[c]) for c, label in REMINDER_CHOICE_LABELS.items()]

    @property
    def reminders_hint(self) -> str:
        """Why the reminders can no longer all arrive: the later one's reason first ("" if they can)."""
        late = self.reminders_late
        return (late["two_hours"] or late["day"]) if late["day"] else ""


@dataclass
class DeskStep:
    """The right column of the desk: the choice as it holds now and what to show for it."""

    choice: DeskChoice
    services: list[Service]
    client: Client | None = None
    service: Service | None = None
    slots: SlotsView | None = None
    confirm: DeskConfirm | None = None
    error: str | None = None
    status: int = 200


def desk_step(
    session: Session,
    calendar: WorkCalendar,
    choice: DeskChoice,
    *,
    error: str | None = None,
    status: int = 422,
) -> DeskStep:
    """The slot picker, or the confirmation when a time is picked and still free.

    `error` is a message from the caller (a refused booking) shown above the
    picker with `status`; a problem found here replaces neither.
    """
    step = DeskStep(
        choice=choice,
        services=bookable_services(session),
        client=session.get(Client, choice.client_id) if choice.client_id else None,
        error=error,
        status=status if error else 200,
    )
    if choice.service_id is None:
        step.choice = replace(choice, slot="")
        return step
    try:
        step.service = service_for_booking(session, choice.service_id)
    except InvalidInput as exc:
        step.choice = replace(choice, service_id=None, slot="")
        return _refused(step, exc)
    if choice.slot:
        try:
            step.confirm = _confirm(session, calendar, step.service, choice.slot, step.client)
            return step
        except (InvalidInput, Conflict) as exc:
            step.choice = replace(choice, slot="")
            _refused(step, exc)
    step.slots = _slots(session, calendar, step)
    return step


@dataclass(frozen=True)
class DeskBooking:
    """One of the client's upcoming visits, as the list on the left names it."""

    booking: Booking
    service: Service
    specialist: Staff
    room: Room


@dataclass
class DeskScreen:
    """The whole desk: the opened client with the upcoming visits (§32), and the step."""

    step: DeskStep
    client: Client | None
    upcoming: list[DeskBooking]


def desk_screen(
    session: Session, calendar: WorkCalendar, choice: DeskChoice, *, client: Client | None
) -> DeskScreen:
    """Both columns for a choice; `client` is the card the operator opened (None: the search)."""
    step = desk_step(session, calendar, replace(choice, client_id=client.id if client else None))
    upcoming = desk_bookings_upcoming(session, client.id) if client and client.id else []
    return DeskScreen(step=step, client=client, upcoming=upcoming)


def desk_bookings_upcoming(
    session: Session, client_id: int, *, now: datetime | None = None
) -> list[DeskBooking]:
    """The client's booked visits that have not ended yet, soonest first (§32: cancellable)."""
    rows = session.exec(
        select(Booking, Service, Staff, Room)
        .join(Service, col(Service.id) == col(Booking.service_id))
        .join(Staff, col(Staff.id) == col(Booking.staff_id))
        .join(Room, col(Room.id) == col(Booking.room_id))
        .where(
            Booking.client_id == client_id,
            Booking.status == BookingStatus.BOOKED,
            Booking.ends_at > (now or utcnow()),
        )
        .order_by(col(Booking.starts_at))
    ).all()
    return [DeskBooking(b, s, st, r) for b, s, st, r in rows]


def desk_booking_cancellable(
    session: Session, client_id: int, booking_id: int
) -> DeskBooking | None:
    """§32: the client's booking `booking_id` if it can still be cancelled (None: over or gone)."""
    upcoming = desk_bookings_upcoming(session, client_id)
    return next((b for b in upcoming if b.booking.id == booking_id), None)


def _refused(step: DeskStep, exc: InvalidInput | Conflict) -> DeskStep:
    if step.error is None:
        step.error, step.status = exc.message, exc.status
    return step


CHOOSE_CLIENT = "Выберите клиента: найдите его слева или зарегистрируйте."


@dataclass(frozen=True)
class DeskPick:
    """What "Записать" books: the checked choice with the §30 reminders the client took."""

    client_id: int
    service: Service
    specialist: Specialist
    starts_at: datetime  # UTC
    remind_day_before: bool
    remind_two_hours_before: bool


def desk_pick(session: Session, choice: DeskChoice, *, reminders: str) -> DeskPick:
    """The booking the operator confirmed, checked in the form's order: time, client, reminders.

    InvalidInput names the field: "service" or "slot" (pick again), "client" or
    "reminders" (the confirmation again).
    """
    service = service_for_booking(session, choice.service_id)
    specialist, starts_at = desk_slot(session, service, choice.slot)
    if choice.client_id is None or session.get(Client, choice.client_id) is None:
        raise InvalidInput(CHOOSE_CLIENT, field="client")
    day_before, two_hours = reminder_choice(reminders, starts_at=starts_at)
    return DeskPick(choice.client_id, service, specialist, starts_at, day_before, two_hours)


def desk_slot(session: Session, service: Service, key: str) -> tuple[Specialist, datetime]:
    """The specialist and start of a slot id from the form; InvalidInput if it is not one."""
    parsed = slot_key_parse(key)
    specialist = None
    if parsed is not None:
        specialist = next(
            (s for s in service_specialists(session, service.id or 0) if s.staff.id == parsed[0]),
            None,
        )
    if parsed is None or specialist is None:
        log.warning("desk: unknown slot id %r for service %s", key, service.id)
        raise InvalidInput(UNKNOWN_SLOT, field="slot")
    return specialist, parsed[1]


def _confirm(
    session: Session, calendar: WorkCalendar, service: Service, key: str, client: Client | None
) -> DeskConfirm:
    specialist, starts_at = desk_slot(session, service, key)
    local = calendar.to_local(starts_at)
    # A page left open for a while: say now, not after "Записать", that the time is gone.
    reason = slot_is_bookable(
        calendar, starts_at=starts_at, duration_minutes=service.duration_minutes
    )
    if reason:
        raise InvalidInput(reason, field="slot")
    still_free = free_slots(
        session,
        calendar,
        service=service,
        staff_id=specialist.staff.id,
        first_day=local.date(),
        days=1,
    )
    if not any(s.starts_at == starts_at for s in still_free):
        raise SlotTaken()
    return DeskConfirm(
        picked=specialist,
        starts_at=starts_at,
        start=local,
        end=calendar.to_local(starts_at + timedelta(minutes=service.duration_minutes)),
        date_text=date_with_weekday(local),
        submit_key=secrets.token_urlsafe(18),
        reminders_late=reminders_late(starts_at),
        reminders_moved=_reminder_notes(calendar, starts_at, client),
    )


def _reminder_notes(
    calendar: WorkCalendar, starts_at: datetime, client: Client | None
) -> dict[str, str]:
    """§30: when each reminder will really reach this client: written ones, then the call."""
    written = reminders_moved(
        starts_at=starts_at,
        config=calendar.config,
        allow_early=client.allow_early_messages if client else False,
    )
    if client is None or Channel.PHONE.value not in client.channels:
        return written
    calls = reminder_calls_moved(calendar, starts_at=starts_at, now=utcnow())
    if client.channels == [Channel.PHONE.value]:
        return calls
    return {k: " ".join(n for n in (written[k], calls[k]) if n) for k in written}


def _slots(session: Session, calendar: WorkCalendar, step: DeskStep) -> SlotsView:
    """The service's month of free days and the chosen day's times; the choice corrected."""
    assert step.service is not None
    specialists = service_specialists(session, step.service.id or 0)
    by_id = {s.staff.id: s for s in specialists}
    staff_id = step.choice.staff_id if step.choice.staff_id in by_id else None
    grid = slot_grid(
        session, calendar, service=step.service, members=[s.staff for s in specialists]
    )
    per_day = grid.counts_by_day(staff_id=staff_id)
    day = step.choice.day if step.choice.day in per_day else min(per_day, default=None)
    step.choice = replace(step.choice, staff_id=staff_id, day=day)
    view = SlotsView(
        service=step.service,
        specialists=specialists,
        counts_by_staff=grid.counts_by_staff(),
        weeks=_weeks(calendar, per_day),
        day=day,
        total=sum(per_day.values()),
    )
    if day is not None:
        # Without a chosen specialist each time is shown once: sixty specialists
        # would otherwise make thousands of buttons nobody can read.
        if staff_id is None:
            picked = grid.times_on(day)
        else:
            picked = [(slot, 0) for slot in grid.slots_on(day, staff_id=staff_id)]
        view.periods = _periods(calendar, day, picked, by_id)
    return view


def _weeks(calendar: WorkCalendar, days: dict[date, int]) -> list[list[DayCell]]:
    """Monday-to-Sunday rows from today to the horizon, with each day's free count."""
    today = calendar.today()
    horizon = list(
        calendar.working_days(today, calendar.config.office.booking_horizon_working_days)
    )
    last = horizon[-1] if horizon else today
    cursor = today - timedelta(days=today.weekday())
    weeks: list[list[DayCell]] = []
    while cursor <= last:
        week = []
        for _ in range(7):
            week.append(
                DayCell(
                    day=cursor,
                    count=days.get(cursor, 0),
                    working=calendar.is_working_day(cursor),
                    in_range=today <= cursor <= last,
                )
            )
            cursor += timedelta(days=1)
        weeks.append(week)
    return weeks


def _periods(
    calendar: WorkCalendar,
    day: date,
    picked: list[tuple[Slot, int]],
    by_id: dict[int | None, Specialist],
) -> list[tuple[str, list[SlotView]]]:
    """The day's free times split at the lunch break: "До обеда", "После обеда".

    Each time comes with the number of other specialists free then ("и ещё N").
    """
    periods = calendar.periods_on(day)
    groups: list[tuple[str, list[SlotView]]] = []
    labels = ["До обеда", "После обеда"] if len(periods) == 2 else ["Весь день"] * len(periods)
    for label, period in zip(labels, periods, strict=True):
        items = []
        for slot, others in picked:
            local_start = calendar.to_local(slot.starts_at)
            if period.start <= local_start < period.end:
                items.append(
                    SlotView(
                        key=slot.key,
                        time=local_start.strftime("%H:%M"),
                        end=calendar.to_local(slot.ends_at).strftime("%H:%M"),
                        specialist=by_id[slot.staff_id],
                        others=others,
                    )
                )
        if items:
            groups.append((label, items))
    return groups
