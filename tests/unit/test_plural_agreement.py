"""Russian agreement: every count on a screen or in a message goes through visits.ru.plural.

«23 событий», «из 1 записей», «за 5 дня» came from a number written straight before a noun.
This scan reads every template and every f-string of the screens and the core and finds
`{{ n }} noun` / `{n} noun` where the noun is one a count is put before; each exception is
listed with why its form is always right.
"""

from __future__ import annotations

import re
from pathlib import Path

from visits.ru import plural
from visits.services.meeting_rooms import RESERVE_MINUTES

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("staff_panel", "kiosk", "signage", "visits")
# Nouns a count stands before, in the forms the three plural forms take.
NOUN = (
    r"(событи[йея]|запис(?:ь|и|ей)|талон(?:а|ов)?|минут[аыу]?|оцен(?:ка|ки|ок)|ок(?:но|на|он)"
    r"|дн(?:я|ей)|день|сообщени[йея]|звон(?:ок|ка|ков)|клиент(?:а|ов)?|раз(?:а)?|час(?:а|ов)?"
    r"|специалист(?:а|ов)?|посетител(?:ь|я|ей)|переда(?:ча|чи|ч)|попыт(?:ка|ки|ок)|человек"
    r"|строк[аи]?|документ(?:а|ов)?)(?![а-яё])"
)
TEMPLATE_COUNT = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}\s+" + NOUN)
PYTHON_COUNT = re.compile(r"\{([^{}]+?)\}\s+" + NOUN)

# (file, expression, noun): why the form is always right.
EXCEPTIONS = {
    # A day in words before «записей нет» («На завтра записей нет»), not a count.
    (
        "staff_panel/templates/staff_panel/partials/_tomorrow.html",
        "preparation.day_text",
        "записей",
    ),
    # Meeting rooms are taken for 15, 30 or 60 minutes, each «минут» (checked below).
    ("staff_panel/templates/staff_panel/partials/_rooms.html", "m", "минут"),
    ("visits/services/meeting_rooms.py", "minutes", "минут"),
    # A time of day («с 09:00 сообщения…») and a verb («принят звонок»), not counts.
    ("visits/rules.py", "opens:%H:%M", "сообщения"),
    ("visits/queries/calls.py", "verb", "звонок"),
}


def _counts() -> list[tuple[str, str, str]]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix == ".html":
                pattern = TEMPLATE_COUNT
            elif path.suffix == ".py":
                pattern = PYTHON_COUNT
            else:
                continue
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                expression, noun = match.group(1).strip(), match.group(2)
                if "plural" in expression or "phrase" in expression:
                    continue
                found.append((str(path.relative_to(ROOT)), expression, noun))
    return found


def test_every_count_goes_through_the_plural_helper() -> None:
    bare = [found for found in _counts() if found not in EXCEPTIONS]
    assert not bare, "a count before a noun without visits.ru.plural: " + repr(bare)


def test_the_scan_finds_a_bare_count() -> None:
    """The scan itself works: the forms the issue found would be caught."""
    assert TEMPLATE_COUNT.search("Показано 3 из {{ h.total }} событий.")
    assert TEMPLATE_COUNT.search("{{ report.no_show.due }} записей")
    assert PYTHON_COUNT.search('f"за {days_before} дня"')
    assert not TEMPLATE_COUNT.search('{{ n }} {{ plural(n, "событие", "события", "событий") }}')


def test_the_meeting_room_minutes_all_take_the_same_form() -> None:
    assert {plural(m, "минуту", "минуты", "минут") for m in RESERVE_MINUTES} == {"минут"}
