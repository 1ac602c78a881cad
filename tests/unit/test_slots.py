"""Free slots (§29): lunch, holidays, the past, taken time, by specialist, the 30-day horizon."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from tests.factories import make_booking, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.errors import InvalidInput
from visits.models import Staff
from visits.queries.slots import (
    Slot,
    bookable_services,
    booking_horizon_end,
    free_slots,
    service_for_booking,
    service_specialists,
    slot_is_bookable,
    slot_key_parse,
    slots_by_day,
)

NSK = ZoneInfo("Asia/Novosibirsk")
# Tuesday 29 December 2026, 11:05: the 30th works, the 31st and 1-10 January do not.
NOW = datetime(2026, 12, 29, 11, 5, tzinfo=NSK).astimezone(UTC)


def local(slot: Slot) -> datetime:
    return slot.starts_at.astimezone(NSK)


def test_no_slot_in_lunch_past_or_outside_hours(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "payments")  # 15 minutes
    slots = free_slots(session, calendar, service=service, now=NOW, days=2)
    times = [local(s) for s in slots]
    assert min(times) == datetime(2026, 12, 29, 11, 15, tzinfo=NSK)  # not 11:00: already begun
    assert all(not ("13:00" <= t.strftime("%H:%M") < "13:48") for t in times)
    assert all(t.strftime("%H:%M") >= "09:00" and t.strftime("%H:%M") <= "17:45" for t in times)
    # After the 13:00-13:48 lunch the grid resumes at 14:00: times one can say on the phone.
    assert datetime(2026, 12, 30, 14, 0, tzinfo=NSK) in times
    assert datetime(2026, 12, 30, 13, 48, tzinfo=NSK) not in times
    # A 45-minute visit must end by the lunch break and by closing time.
    long = service_by_code(session, "land-free")
    long_times = {
        local(s).strftime("%H:%M")
        for s in free_slots(session, calendar, service=long, now=NOW, days=2)
    }
    assert "12:15" in long_times and "12:30" not in long_times
    assert "17:15" in long_times and "17:30" not in long_times


def test_no_slot_on_holidays_and_weekends(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "land-lease")
    days = slots_by_day(calendar, free_slots(session, calendar, service=service, now=NOW, days=4))
    assert list(days) == [
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2027, 1, 11),
        date(2027, 1, 12),
    ]


def test_friday_closes_earlier(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "payments")
    friday = date(2027, 1, 15)
    slots = free_slots(session, calendar, service=service, now=NOW, first_day=friday, days=1)
    assert max(local(s) for s in slots) == datetime(2027, 1, 15, 16, 30, tzinfo=NSK)


def test_taken_time_is_not_offered_and_holds_every_cell(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")  # 30 minutes = two 15-minute cells
    ivanova = staff_by_login(session, "ivanova")
    moment = datetime(2026, 12, 30, 10, 0, tzinfo=NSK).astimezone(UTC)
    make_booking(session, calendar, starts_at=moment, now=NOW)

    def starts(staff: Staff) -> set[str]:
        slots = free_slots(
            session,
            calendar,
            service=service,
            staff_id=staff.id,
            now=NOW,
            first_day=date(2026, 12, 30),
            days=1,
        )
        return {local(s).strftime("%H:%M") for s in slots}

    taken = starts(ivanova)
    # 10:00 and 10:15 are held; 09:45 would run into 10:00; 10:30 is free again.
    assert {"09:45", "10:00", "10:15"}.isdisjoint(taken)
    assert {"09:30", "10:30"} <= taken
    # Another specialist of the same service is still free then.
    assert "10:00" in starts(staff_by_login(session, "smirnov"))


def test_by_specialist(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "land-lease")
    every = free_slots(session, calendar, service=service, now=NOW, days=1)
    names = [s.staff.login for s in service_specialists(session, service.id or 0)]
    assert names == ["ivanova", "smirnov"]
    assert {s.staff_id for s in every} == {staff_by_login(session, n).id for n in names}
    ivanova = staff_by_login(session, "ivanova")
    mine = free_slots(session, calendar, service=service, staff_id=ivanova.id, now=NOW, days=1)
    assert mine and {s.staff_id for s in mine} == {ivanova.id}
    assert len(mine) * 2 == len(every)
    # Someone who does not serve the service has no slots in it.
    volkova = staff_by_login(session, "volkova")
    assert free_slots(session, calendar, service=service, staff_id=volkova.id, now=NOW) == []


def test_thirty_working_days_horizon(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "consultation")
    days = slots_by_day(calendar, free_slots(session, calendar, service=service, now=NOW))
    assert len(days) == 30
    assert max(days) == date(2027, 2, 17) == booking_horizon_end(calendar, now=NOW)
    assert all(calendar.is_working_day(d) for d in days)
    beyond = datetime(2027, 2, 18, 10, 0, tzinfo=NSK).astimezone(UTC)
    assert "30 рабочих дней" in (
        slot_is_bookable(calendar, starts_at=beyond, duration_minutes=15, now=NOW) or ""
    )
    last = datetime(2027, 2, 17, 10, 0, tzinfo=NSK).astimezone(UTC)
    assert slot_is_bookable(calendar, starts_at=last, duration_minutes=15, now=NOW) is None


def test_specialist_without_room_is_not_offered(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "land-lease")
    smirnov = staff_by_login(session, "smirnov")
    smirnov.room_id = None
    session.add(smirnov)
    session.flush()
    slots = free_slots(session, calendar, service=service, now=NOW, days=1)
    assert slots and smirnov.id not in {s.staff_id for s in slots}


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (datetime(2026, 12, 29, 10, 0, tzinfo=NSK), "уже прошло"),
        (datetime(2026, 12, 31, 10, 0, tzinfo=NSK), "не работает"),
        (datetime(2027, 1, 16, 10, 0, tzinfo=NSK), "не работает"),  # a Saturday
        (datetime(2026, 12, 30, 13, 0, tzinfo=NSK), "обеденный перерыв"),
        (datetime(2026, 12, 30, 12, 45, tzinfo=NSK), "обеденный перерыв"),  # runs into lunch
        (datetime(2026, 12, 30, 17, 45, tzinfo=NSK), "вне часов"),  # runs past closing
        (datetime(2026, 12, 30, 10, 5, tzinfo=NSK), "нет в расписании"),
        (datetime(2026, 12, 30, 13, 48, tzinfo=NSK), "нет в расписании"),
    ],
)
def test_slot_is_bookable_reasons(calendar: WorkCalendar, when: datetime, words: str) -> None:
    reason = slot_is_bookable(
        calendar, starts_at=when.astimezone(UTC), duration_minutes=30, now=NOW
    )
    assert reason is not None and words in reason


def test_slot_key_round_trip_and_tampering() -> None:
    slot = Slot(7, NOW, NOW + timedelta(minutes=30))
    assert slot_key_parse(slot.key) == (7, NOW)
    for bad in (
        "",
        "7",
        "7-",
        "-7",
        "a-1",
        "7-1-2",
        "7--1",
        "1234567890-1798000000",
        "7-99999999999",
        "7-123456789012",
        "٧-1798000000",
    ):
        assert slot_key_parse(bad) is None, bad


def test_services_for_the_desk(session: Session) -> None:
    names = [s.name for s in bookable_services(session)]
    assert names == sorted(names) and len(names) == 8
    assert service_for_booking(session, service_by_code(session, "payments").id).code == "payments"
    for bad in (None, 0, 999999):
        with pytest.raises(InvalidInput, match="Такой услуги нет"):
            service_for_booking(session, bad)


def test_grid_counts_match_the_slots_and_a_booking_blocks_its_cells(
    session: Session, calendar: WorkCalendar
) -> None:
    from visits.queries.slots import slot_grid

    service = service_by_code(session, "land-free")  # 45 minutes: three cells
    ivanova_day = datetime(2026, 12, 30, 10, 0, tzinfo=NSK).astimezone(UTC)
    popov = staff_by_login(session, "popov")
    before = slot_grid(session, calendar, service=service, now=NOW, days=3)
    make_booking(
        session,
        calendar,
        service_code="land-free",
        staff_login="popov",
        starts_at=ivanova_day,
        now=NOW,
    )
    grid = slot_grid(session, calendar, service=service, now=NOW, days=3)
    slots = free_slots(session, calendar, service=service, now=NOW, days=3)
    assert sum(grid.counts_by_staff().values()) == len(slots)
    assert grid.counts_by_day() == {d: len(v) for d, v in slots_by_day(calendar, slots).items()}
    # 10:00-10:45 taken: starts 09:30, 09:45, 10:00, 10:15, 10:30 are no longer free for him.
    popov_before = {
        local(s).strftime("%H:%M") for s in before.slots_on(date(2026, 12, 30), popov.id)
    }
    popov_after = {local(s).strftime("%H:%M") for s in grid.slots_on(date(2026, 12, 30), popov.id)}
    assert popov_before - popov_after == {"09:30", "09:45", "10:00", "10:15", "10:30"}


def test_the_past_moves_on_while_the_day_layout_is_reused(
    session: Session, calendar: WorkCalendar
) -> None:
    """A day's layout is built once per process; "not in the past" is applied per call."""
    service = service_by_code(session, "payments")

    def first_start(now: datetime) -> str:
        slots = free_slots(session, calendar, service=service, now=now, days=1)
        return local(slots[0]).strftime("%H:%M")

    afternoon = datetime(2026, 12, 29, 15, 2, tzinfo=NSK).astimezone(UTC)
    assert first_start(NOW) == "11:15"
    assert first_start(afternoon) == "15:15"
    assert first_start(NOW) == "11:15"  # the afternoon call did not change the shared layout
    # The day before, the whole of the 29th is ahead.
    evening_before = datetime(2026, 12, 28, 18, 0, tzinfo=NSK).astimezone(UTC)
    slots = free_slots(
        session, calendar, service=service, now=evening_before, first_day=date(2026, 12, 29), days=1
    )
    assert local(slots[0]).strftime("%H:%M") == "09:00"


def test_a_changed_timetable_is_not_served_from_the_layout_of_the_old_one(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "payments")
    before = free_slots(session, calendar, service=service, now=NOW, days=2)
    open_all_day = WorkCalendar(calendar.config, always_open=True)
    after = free_slots(session, open_all_day, service=service, now=NOW, days=2)
    assert max(local(s) for s in after).strftime("%H:%M") == "23:30"  # closes at 23:59
    assert max(local(s) for s in before).strftime("%H:%M") == "17:45"


def test_each_time_once_with_the_specialist_most_free_that_day(
    session: Session, calendar: WorkCalendar
) -> None:
    from visits.queries.slots import slot_grid

    service = service_by_code(session, "land-free")
    day = date(2026, 12, 30)
    make_booking(
        session,
        calendar,
        service_code="land-free",
        staff_login="popov",
        starts_at=datetime(2026, 12, 30, 10, 0, tzinfo=NSK).astimezone(UTC),
        now=NOW,
    )
    grid = slot_grid(session, calendar, service=service, now=NOW, days=3)
    slots = grid.slots_on(day)
    free_that_day: dict[int, int] = {}
    by_time: dict[datetime, list[int]] = {}
    for slot in slots:
        free_that_day[slot.staff_id] = free_that_day.get(slot.staff_id, 0) + 1
        by_time.setdefault(slot.starts_at, []).append(slot.staff_id)
    times = grid.times_on(day)
    assert [slot.starts_at for slot, _others in times] == sorted(by_time)
    for slot, others in times:
        free_then = by_time[slot.starts_at]
        assert others == len(free_then) - 1
        best = max(free_then, key=lambda member: (free_that_day[member], -member))
        assert slot.staff_id == best
    # At 10:00 Popov is busy, so another specialist is offered and he is not counted.
    at_ten = next(
        (slot, others) for slot, others in times if local(slot).strftime("%H:%M") == "10:00"
    )
    assert at_ten[0].staff_id != staff_by_login(session, "popov").id
    assert grid.times_on(date(2026, 12, 31)) == []  # not a working day
