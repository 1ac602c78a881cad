"""Working days and hours of the office, in its own time zone.

Non-working days come from the `holidays` package's Russia calendar: it
carries the official holidays, the days off transferred by the government's
yearly decree (2026-01-09, 2026-12-31) and the working Saturdays
(`weekend_workdays`), and it is maintained upstream every year. The office
config can add local exceptions on top (`[calendar]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from visits.config import WEEKDAYS, OfficeConfig, WorkingHours


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (the only time kept in the database)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Period:
    """A stretch of working time, both ends aware."""

    start: datetime
    end: datetime


# The years of the production calendar read at first use; a day outside them is
# looked up in the package on its own.
RUSSIA_YEARS = range(2020, 2036)


@dataclass(frozen=True)
class DaysOff:
    """Russia's production calendar: days off (holidays, transferred days) and Saturdays worked."""

    holidays: frozenset[date]
    weekend_workdays: frozenset[date]


# RUSSIA_YEARS' days off, once read: the package's data does not change while a process runs.
_days_off: list[DaysOff] = []


def russia_days_off() -> DaysOff:
    """The days off of RUSSIA_YEARS (read from the `holidays` package once per process)."""
    if not _days_off:
        _days_off.append(_russia_read(RUSSIA_YEARS))
    return _days_off[0]


def russia_days_off_known(days_off: DaysOff) -> None:
    """Keep days off read elsewhere (the server's master reads them in a child process)."""
    if not _days_off:
        _days_off.append(days_off)


@cache
def _russia_year(year: int) -> DaysOff:
    return _russia_read([year])


def _russia_read(years: Iterable[int]) -> DaysOff:
    # Imported here: for one country the package imports every country's calendar
    # (280 modules, 12 MiB in each process), and the dates are all we keep.
    import holidays

    calendar = holidays.country_holidays("RU", years=years)
    return DaysOff(
        holidays=frozenset(calendar), weekend_workdays=frozenset(calendar.weekend_workdays)
    )


_ALL_DAY = WorkingHours(days=list(WEEKDAYS), open="00:00", close="23:59", lunch=("13:00", "13:48"))


class WorkCalendar:
    """Answers "is the office open?" questions for one office config."""

    def __init__(self, config: OfficeConfig, *, always_open: bool = False) -> None:
        self.config = config
        # The demo office is open every day around the clock, so it can be tried at any hour.
        self.always_open = always_open
        self.tz = ZoneInfo(config.office.timezone)
        self._extra_off = set(config.calendar.extra_days_off)
        self._extra_working = set(config.calendar.extra_working_days)
        self._periods: dict[date, tuple[Period, ...]] = {}

    def to_local(self, moment: datetime) -> datetime:
        """Convert an aware moment to the office's time zone."""
        return moment.astimezone(self.tz)

    def local_now(self) -> datetime:
        return utcnow().astimezone(self.tz)

    def today(self) -> date:
        return self.local_now().date()

    def at(self, day: date, clock: time) -> datetime:
        """Return the aware moment of a local wall-clock time on a day."""
        return datetime.combine(day, clock, tzinfo=self.tz)

    def is_working_day(self, day: date) -> bool:
        """True if the office works on this date (production calendar + overrides)."""
        if self.always_open:
            return True
        if day in self._extra_off:
            return False
        if day in self._extra_working:
            return True
        russia = russia_days_off() if day.year in RUSSIA_YEARS else _russia_year(day.year)
        if day in russia.holidays:
            return False
        if day.weekday() >= 5:
            return day in russia.weekend_workdays
        return True

    def hours_on(self, day: date) -> WorkingHours | None:
        """Return the working hours on a date, or None on a non-working day."""
        if not self.is_working_day(day):
            return None
        if self.always_open:
            return _ALL_DAY
        weekday = WEEKDAYS[day.weekday()]
        hours = self.config.hours_for(weekday)
        if hours is None:
            # A working Saturday (transferred day) works with the hours of the
            # weekday whose day off it replaced.
            hours = self.config.hours_for(self.config.office.transferred_workday_hours_from)
        return hours

    def periods_on(self, day: date) -> list[Period]:
        """Return the working periods of a date: the day split by the lunch break."""
        periods = self._periods.get(day)
        if periods is None:
            # A month of slots asks for the same thirty days on every search; the
            # config does not change under a calendar, so each day is worked out once.
            if len(self._periods) > 4000:
                self._periods.clear()
            periods = self._periods[day] = self._periods_uncached(day)
        return list(periods)

    def _periods_uncached(self, day: date) -> tuple[Period, ...]:
        hours = self.hours_on(day)
        if hours is None:
            return ()
        start, end = self.at(day, hours.open), self.at(day, hours.close)
        if hours.lunch is None:
            return (Period(start, end),)
        lunch_start, lunch_end = (self.at(day, t) for t in hours.lunch)
        return (Period(start, lunch_start), Period(lunch_end, end))

    def working_days(self, start: date, count: int) -> Iterator[date]:
        """Yield `count` working days, beginning with `start` if it is one."""
        day, found = start, 0
        # A bounded walk: no real calendar has 60 days off in a row.
        for _ in range(count * 3 + 60):
            if found == count:
                return
            if self.is_working_day(day):
                found += 1
                yield day
            day += timedelta(days=1)

    def next_working_day(self, after: date) -> date:
        return next(self.working_days(after + timedelta(days=1), 1))

    def is_within_hours(self, moment: datetime) -> bool:
        """True if an aware moment falls inside working time (lunch excluded)."""
        local = self.to_local(moment)
        return any(p.start <= local < p.end for p in self.periods_on(local.date()))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Return the moment `hours` of working time after `start` (§10-12 deadlines)."""
        remaining = timedelta(hours=hours)
        day = self.to_local(start).date()
        cursor = self.to_local(start)
        for _ in range(400):
            for period in self.periods_on(day):
                begin = max(period.start, cursor)
                if begin >= period.end:
                    continue
                available = period.end - begin
                if available >= remaining:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working time found within 400 days")
