"""Russian wording helpers: dates, plurals. Used by templates, messages, tickets."""

from __future__ import annotations

from datetime import date, datetime

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
WEEKDAYS = ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
WEEKDAYS_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


def plural(n: int, one: str, few: str, many: str) -> str:
    """Pick the Russian form for a count: 1 минута, 2 минуты, 5 минут."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def minutes_phrase(n: int) -> str:
    return f"{n} {plural(n, 'минуту', 'минуты', 'минут')}"


def date_long(day: date | datetime) -> str:
    """ "15 декабря 2026 г."."""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def date_with_weekday(day: date | datetime) -> str:
    """ "15 декабря 2026 г., вторник"."""
    return f"{date_long(day)}, {WEEKDAYS[day.weekday()]}"


def date_short(day: date | datetime) -> str:
    """ "15 декабря, вт"."""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]}, {WEEKDAYS_SHORT[day.weekday()]}"
