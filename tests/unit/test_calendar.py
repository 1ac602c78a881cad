"""Working calendar: the Russian production calendar of 2026 and local overrides."""

from datetime import UTC, date, datetime, time

import pytest

from visits.calendar import WorkCalendar
from visits.config import OfficeConfig


@pytest.mark.parametrize("day", [date(2026, 1, d) for d in range(1, 12)])
def test_new_year_holidays_2026_are_days_off(calendar: WorkCalendar, day: date) -> None:
    # 1-8 January by law; 9 January is the day off moved from Saturday 3 January.
    assert not calendar.is_working_day(day)


def test_first_working_day_of_2026_is_12_january(calendar: WorkCalendar) -> None:
    assert calendar.next_working_day(date(2026, 1, 1)) == date(2026, 1, 12)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 2, 23),
        date(2026, 3, 9),
        date(2026, 5, 1),
        date(2026, 5, 11),
        date(2026, 6, 12),
        date(2026, 11, 4),
        date(2026, 12, 31),
    ],
)
def test_2026_holidays_and_transferred_days_off(calendar: WorkCalendar, day: date) -> None:
    # 9 March and 11 May: holidays on a weekend moved to Monday; 31 December moved from 4 January.
    assert not calendar.is_working_day(day)


def test_working_saturday_uses_transferred_hours(calendar: WorkCalendar) -> None:
    # 1 November 2025 was a working Saturday (decree on the 2025 calendar).
    saturday = date(2025, 11, 1)
    assert calendar.is_working_day(saturday)
    hours = calendar.hours_on(saturday)
    assert hours is not None and hours.close == time(16, 45)


def test_ordinary_weekend_and_weekday(calendar: WorkCalendar) -> None:
    assert not calendar.is_working_day(date(2026, 11, 28))  # Saturday
    assert calendar.is_working_day(date(2026, 11, 30))  # Monday


def test_overrides_in_config_win(office_config: OfficeConfig) -> None:
    config = office_config.model_copy(
        update={
            "calendar": office_config.calendar.model_copy(
                update={
                    "extra_days_off": [date(2026, 11, 30)],
                    "extra_working_days": [date(2026, 11, 29)],
                }
            )
        }
    )
    cal = WorkCalendar(config)
    assert not cal.is_working_day(date(2026, 11, 30))
    assert cal.is_working_day(date(2026, 11, 29))


def test_periods_exclude_lunch(calendar: WorkCalendar) -> None:
    periods = calendar.periods_on(date(2026, 12, 1))
    assert [(p.start.strftime("%H:%M"), p.end.strftime("%H:%M")) for p in periods] == [
        ("09:00", "13:00"),
        ("13:48", "18:00"),
    ]
    assert calendar.periods_on(date(2026, 12, 5)) == []


def test_within_hours_is_in_novosibirsk_time(calendar: WorkCalendar) -> None:
    # 03:30 UTC is 10:30 in Novosibirsk (UTC+7).
    assert calendar.is_within_hours(datetime(2026, 12, 1, 3, 30, tzinfo=UTC))
    assert not calendar.is_within_hours(datetime(2026, 12, 1, 6, 10, tzinfo=UTC))  # 13:10 lunch


def test_add_working_hours_skips_nights_and_weekends(calendar: WorkCalendar) -> None:
    # Friday 4 December 2026, 16:00 local + 24 working hours.
    start = calendar.at(date(2026, 12, 4), datetime.min.time().replace(hour=16))
    result = calendar.to_local(calendar.add_working_hours(start, 1))
    assert result.date() == date(2026, 12, 7) and result.strftime("%H:%M") == "09:15"
