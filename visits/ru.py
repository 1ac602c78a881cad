"""Russian wording helpers: dates, plurals, names in cases, gendered verbs.

Used by templates, messages, tickets. Names are declined by pytrovich (the
maintained Python port of the petrovich rules, with gender detection), never
by a hand-written table: a table says «перед Любовем» and «Ильичем».
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

from pytrovich.detector import PetrovichGenderDetector
from pytrovich.enums import Case as _PCase
from pytrovich.enums import Gender as _PGender
from pytrovich.enums import NamePart
from pytrovich.maker import PetrovichDeclinationMaker

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


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Case(StrEnum):
    """The grammatical cases the product needs a name in."""

    GENITIVE = "genitive"  # у Ивана Петровича
    DATIVE = "dative"  # Ивану Петровичу
    ACCUSATIVE = "accusative"  # пригласите Ивана Петровича
    INSTRUMENTAL = "instrumental"  # перед Иваном Петровичем (§34.4)
    PREPOSITIONAL = "prepositional"  # об Иване Петровиче


_CASES = {
    Case.GENITIVE: _PCase.GENITIVE,
    Case.DATIVE: _PCase.DATIVE,
    Case.ACCUSATIVE: _PCase.ACCUSATIVE,
    Case.INSTRUMENTAL: _PCase.INSTRUMENTAL,
    Case.PREPOSITIONAL: _PCase.PREPOSITIONAL,
}


@lru_cache(maxsize=1)
def _maker() -> PetrovichDeclinationMaker:
    return PetrovichDeclinationMaker()


@lru_cache(maxsize=1)
def _detector() -> PetrovichGenderDetector:
    return PetrovichGenderDetector()


def _tidy(part: str) -> str:
    """ "ИВАН" or "иван" -> "Иван": the rules match a capitalised word; "Анна-Мария" keeps its hyphen."""
    part = " ".join(part.split())
    if part.isupper() or part.islower():
        return "-".join(w[:1].upper() + w[1:].lower() for w in part.split("-"))
    return part


def _library_gender(first_name: str, patronymic: str, surname: str) -> _PGender:
    found: _PGender = _detector().detect(  # type: ignore[no-untyped-call]
        firstname=_tidy(first_name) or None,
        middlename=_tidy(patronymic) or None,
        lastname=_tidy(surname) or None,
    )
    return found


def name_gender(first_name: str, patronymic: str = "", surname: str = "") -> Gender | None:
    """The person's grammatical gender, by the patronymic first; None when the name does not tell."""
    found = _library_gender(first_name, patronymic, surname)
    if found is _PGender.MALE:
        return Gender.MALE
    if found is _PGender.FEMALE:
        return Gender.FEMALE
    return None


def decline_name(
    *, first_name: str = "", patronymic: str = "", surname: str = "", case: Case
) -> str:
    """The given parts of a name, in their order (first name, patronymic, surname), in `case`.

    A part the rules do not know (Ю, оглы, a Latin name) stays as written, which is
    the correct form for an indeclinable name.
    """
    gender = _library_gender(first_name, patronymic, surname)
    parts = (
        (NamePart.FIRSTNAME, first_name),
        (NamePart.MIDDLENAME, patronymic),
        (NamePart.LASTNAME, surname),
    )
    # known_gender=False: the gender is the detector's guess, so the rules filter loosely
    # (an androgynous "Саша" becomes "Сашей", not "Сашой").
    return " ".join(
        _maker().make(part, gender, _CASES[case], _tidy(value), known_gender=False)
        for part, value in parts
        if value.strip()
    )


def first_name_instrumental(name: str) -> str | None:
    """Иван -> Иваном, Любовь -> Любовью; None for an empty name."""
    return decline_name(first_name=name, case=Case.INSTRUMENTAL) if name.strip() else None


def patronymic_instrumental(patronymic: str) -> str | None:
    """Петрович -> Петровичем, Ильич -> Ильичом, Петровна -> Петровной; None when empty."""
    if not patronymic.strip():
        return None
    return decline_name(patronymic=patronymic, case=Case.INSTRUMENTAL)


def address_name_instrumental(first_name: str, patronymic: str) -> str | None:
    """ "Иваном Петровичем" (§34.3 form of address); None without a patronymic or a first name."""
    if not patronymic.strip() or not first_name.strip():
        return None
    return decline_name(first_name=first_name, patronymic=patronymic, case=Case.INSTRUMENTAL)


def by_gender(
    masculine: str, feminine: str, *, first_name: str, patronymic: str = "", surname: str = ""
) -> str:
    """«записан» or «записана» by the person's name; both forms joined when the name does not tell.

    The fallback "записан(а)" is kept only for names like "Саша" without a patronymic.
    """
    gender = name_gender(first_name, patronymic, surname)
    if gender is Gender.MALE:
        return masculine
    if gender is Gender.FEMALE:
        return feminine
    if feminine.startswith(masculine):
        return f"{masculine}({feminine[len(masculine) :]})"
    return f"{masculine} / {feminine}"


class _Named(Protocol):
    first_name: str
    patronymic: str
    surname: str


def by_gender_of(person: _Named, masculine: str, feminine: str) -> str:
    """`by_gender` for a client or a staff member: «Вас принял» / «Вас приняла»."""
    return by_gender(
        masculine,
        feminine,
        first_name=person.first_name,
        patronymic=person.patronymic,
        surname=person.surname,
    )
