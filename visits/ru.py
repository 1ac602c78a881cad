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


# Names in the instrumental case ("перед Иваном Петровичем"), for the apology prompt (§34.4).
# Irregular first names: a fleeting vowel or ё that becomes е.
_INSTRUMENTAL_IRREGULAR = {
    "Пётр": "Петром",
    "Петр": "Петром",
    "Павел": "Павлом",
    "Лев": "Львом",
}
_HUSHING = "жшчщц"
_CONSONANTS = "бвгджзклмнпрстфхцчшщ"


def first_name_instrumental(name: str) -> str | None:
    """Decline a common Russian first name: Иван -> Иваном, Мария -> Марией; None if unsure."""
    name = name.strip()
    if len(name) < 2:
        return None
    if name in _INSTRUMENTAL_IRREGULAR:
        return _INSTRUMENTAL_IRREGULAR[name]
    low = name.lower()
    stem, last = name[:-1], low[-1]
    if last in _CONSONANTS:
        # Иван -> Иваном; a hushing end is unstressed in common names: -ем.
        return name + ("ем" if last in _HUSHING else "ом")
    if last == "й":
        return stem + "ем"  # Сергей -> Сергеем, Дмитрий -> Дмитрием, Николай -> Николаем
    if last == "ь":
        return stem + "ем"  # Игорь -> Игорем
    if last == "я":
        if low.endswith("ья"):
            # Наталья -> Натальей; Илья (stressed) -> Ильёй.
            return "Ильёй" if low == "илья" else stem + "ей"
        return stem + "ей"  # Мария -> Марией, Валерия -> Валерией
    if last == "а":
        before = low[-2]
        if before in _HUSHING:
            return stem + "ей"  # Саша -> Сашей
        return stem + "ой"  # Анна -> Анной, Ольга -> Ольгой, Никита -> Никитой
    return None


def patronymic_instrumental(patronymic: str) -> str | None:
    """Петрович -> Петровичем, Петровна -> Петровной, Ильинична -> Ильиничной; None if unsure."""
    value = patronymic.strip()
    low = value.lower()
    if low.endswith(("ович", "евич", "ич")):
        return value + "ем"
    if low.endswith(("овна", "евна", "ична", "инична")):
        return value[:-1] + "ой"
    return None


def address_name_instrumental(first_name: str, patronymic: str) -> str | None:
    """ "Иваном Петровичем" (§34.3 form of address), or None when a part cannot be declined."""
    if not patronymic.strip():
        return None
    first = first_name_instrumental(first_name)
    second = patronymic_instrumental(patronymic)
    if first is None or second is None:
        return None
    return f"{first} {second}"
