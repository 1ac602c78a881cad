"""Russian words for the hallway announcement: numbers, letters, the call phrase.

"А-012" in room 305 is spoken "Талон А ноль двенадцать, пройдите в кабинет
триста пять". Speech engines read digits and lone letters unpredictably
("А-012" may come out as "а минус двенадцать"), so the phrase is built from
words here and the engine (browser or espeak-ng) only pronounces them.
"""

from __future__ import annotations

import re

from visits.ru import plural

_UNITS_MASCULINE = (
    "",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
)
_UNITS_FEMININE = ("", "одна", "две", *_UNITS_MASCULINE[3:])
_TEENS = (
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
_TENS = (
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
)
_HUNDREDS = (
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
)
# Scale words with their grammatical gender and the three plural forms.
_SCALES = (
    (10**9, False, ("миллиард", "миллиарда", "миллиардов")),
    (10**6, False, ("миллион", "миллиона", "миллионов")),
    (10**3, True, ("тысяча", "тысячи", "тысяч")),
)

# How the letters are named aloud (the alphabet as taught at school).
LETTER_NAMES = {
    "А": "а",
    "Б": "бэ",
    "В": "вэ",
    "Г": "гэ",
    "Д": "дэ",
    "Е": "е",
    "Ё": "ё",
    "Ж": "жэ",
    "З": "зэ",
    "И": "и",
    "Й": "и краткое",
    "К": "ка",
    "Л": "эль",
    "М": "эм",
    "Н": "эн",
    "О": "о",
    "П": "пэ",
    "Р": "эр",
    "С": "эс",
    "Т": "тэ",
    "У": "у",
    "Ф": "эф",
    "Х": "ха",
    "Ц": "цэ",
    "Ч": "че",
    "Ш": "ша",
    "Щ": "ща",
    "Ъ": "твёрдый знак",
    "Ы": "ы",
    "Ь": "мягкий знак",
    "Э": "э",
    "Ю": "ю",
    "Я": "я",
}

_PARTS = re.compile(r"\d+|[^\W\d_]+")


def _below_thousand(n: int, *, feminine: bool) -> list[str]:
    words = [_HUNDREDS[n // 100]]
    rest = n % 100
    if 10 <= rest < 20:
        words.append(_TEENS[rest - 10])
    else:
        units = _UNITS_FEMININE if feminine else _UNITS_MASCULINE
        words += [_TENS[rest // 10], units[rest % 10]]
    return [w for w in words if w]


def number_words(n: int, *, feminine: bool = False) -> str:
    """Spell a whole number in Russian, nominative: 305 -> "триста пять"."""
    if n < 0:
        return "минус " + number_words(-n, feminine=feminine)
    if n == 0:
        return "ноль"
    if n >= 10**12:
        raise ValueError(f"слишком большое число: {n}")
    words: list[str] = []
    rest = n
    for scale, scale_feminine, forms in _SCALES:
        count, rest = divmod(rest, scale)
        if count == 0:
            continue
        if count == 1 and not words and scale == 1000:
            # "тысяча двести": a lone leading thousand is said without "одна".
            words.append(forms[0])
            continue
        words += _below_thousand(count, feminine=scale_feminine)
        words.append(plural(count, *forms))
    words += _below_thousand(rest, feminine=feminine)
    return " ".join(words)


def digits_words(digits: str) -> str:
    """Say a digit string as a number, each leading zero as "ноль": "012" -> "ноль двенадцать"."""
    if not digits.isdigit():
        raise ValueError(f"ожидаются цифры, получено {digits!r}")
    stripped = digits.lstrip("0")
    zeros = ["ноль"] * (len(digits) - len(stripped))
    if not stripped:
        return " ".join(zeros)
    return " ".join([*zeros, number_words(int(stripped))])


def letter_name(letter: str) -> str:
    """The spoken name of a Russian capital letter: "Б" -> "бэ"; other letters as they are."""
    return LETTER_NAMES.get(letter.upper(), letter.lower())


def code_words(code: str) -> str:
    """Say a ticket or room code: digit runs as numbers, single letters by name.

    "А-012" -> "а ноль двенадцать", "305" -> "триста пять", "12б" -> "двенадцать бэ".
    """
    words = []
    for part in _PARTS.findall(code):
        if part.isdigit():
            words.append(digits_words(part))
        elif len(part) == 1:
            words.append(letter_name(part))
        else:
            words.append(part.lower())
    return " ".join(words)


def call_phrase(ticket_number: str, room_number: str, *, meeting_room: bool = False) -> str:
    """The announcement: "Талон А ноль двенадцать, пройдите в кабинет триста пять"."""
    place = "переговорную" if meeting_room else "кабинет"
    ticket = code_words(ticket_number)
    return f"Талон {ticket[:1].upper()}{ticket[1:]}, пройдите в {place} {code_words(room_number)}"
