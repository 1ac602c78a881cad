"""Russian words for the hallway announcement (issue 5): numbers, letters, the phrase."""

from __future__ import annotations

import pytest

from visits.speech import (
    LETTER_NAMES,
    call_phrase,
    code_words,
    digits_words,
    letter_name,
    number_words,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "ноль"),
        (1, "один"),
        (2, "два"),
        (11, "одиннадцать"),
        (12, "двенадцать"),
        (19, "девятнадцать"),
        (20, "двадцать"),
        (21, "двадцать один"),
        (40, "сорок"),
        (99, "девяносто девять"),
        (100, "сто"),
        (101, "сто один"),
        (110, "сто десять"),
        (212, "двести двенадцать"),
        (305, "триста пять"),
        (311, "триста одиннадцать"),
        (999, "девятьсот девяносто девять"),
        (1000, "тысяча"),
        (1001, "тысяча один"),
        (1205, "тысяча двести пять"),
        (2000, "две тысячи"),
        (2305, "две тысячи триста пять"),
        (4012, "четыре тысячи двенадцать"),
        (5000, "пять тысяч"),
        (11000, "одиннадцать тысяч"),
        (21000, "двадцать одна тысяча"),
        (22500, "двадцать две тысячи пятьсот"),
        (101000, "сто одна тысяча"),
        (1_000_000, "один миллион"),
        (2_003_004, "два миллиона три тысячи четыре"),
        (5_000_000_000, "пять миллиардов"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


def test_feminine_units_for_counted_feminine_nouns() -> None:
    assert number_words(1, feminine=True) == "одна"
    assert number_words(22, feminine=True) == "двадцать две"
    assert number_words(-3) == "минус три"
    with pytest.raises(ValueError):
        number_words(10**12)


def test_digits_say_leading_zeros() -> None:
    assert digits_words("012") == "ноль двенадцать"
    assert digits_words("001") == "ноль ноль один"
    assert digits_words("100") == "сто"
    assert digits_words("000") == "ноль ноль ноль"
    with pytest.raises(ValueError):
        digits_words("1a")


@pytest.mark.parametrize(
    ("letter", "name"),
    [
        ("А", "а"),
        ("Б", "бэ"),
        ("В", "вэ"),
        ("Ж", "жэ"),
        ("З", "зэ"),
        ("Й", "и краткое"),
        ("К", "ка"),
        ("Л", "эль"),
        ("Р", "эр"),
        ("С", "эс"),
        ("Ч", "че"),
        ("Ъ", "твёрдый знак"),
        ("Ь", "мягкий знак"),
        ("Я", "я"),
        ("б", "бэ"),
    ],
)
def test_letter_names(letter: str, name: str) -> None:
    assert letter_name(letter) == name


def test_every_capital_letter_has_a_name() -> None:
    alphabet = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    assert set(LETTER_NAMES) == set(alphabet)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("А-012", "а ноль двенадцать"),
        ("Б-001", "бэ ноль ноль один"),
        ("Ж-120", "жэ сто двадцать"),
        ("Д-1000", "дэ тысяча"),
        ("305", "триста пять"),
        ("1000", "тысяча"),
        ("1204", "тысяча двести четыре"),
        ("12б", "двенадцать бэ"),
        ("3-05", "три ноль пять"),
        ("Зал", "зал"),
    ],
)
def test_code_words(code: str, words: str) -> None:
    assert code_words(code) == words


def test_call_phrase() -> None:
    assert call_phrase("А-012", "305") == "Талон А ноль двенадцать, пройдите в кабинет триста пять"
    assert (
        call_phrase("Б-007", "1012")
        == "Талон Бэ ноль ноль семь, пройдите в кабинет тысяча двенадцать"
    )
    assert (
        call_phrase("В-110", "311", meeting_room=True)
        == "Талон Вэ сто десять, пройдите в переговорную триста одиннадцать"
    )
    # The phrase never carries digits: engines would read them their own way.
    assert not any(ch.isdigit() for ch in call_phrase("З-999", "2205"))
