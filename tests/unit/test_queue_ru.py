"""Names in the instrumental case for the apology prompt (§34.4): "перед Иваном Петровичем"."""

from __future__ import annotations

import pytest

from visits.ru import address_name_instrumental, first_name_instrumental, patronymic_instrumental


@pytest.mark.parametrize(
    ("name", "declined"),
    [
        ("Иван", "Иваном"),
        ("Олег", "Олегом"),
        ("Пётр", "Петром"),
        ("Павел", "Павлом"),
        ("Лев", "Львом"),
        ("Сергей", "Сергеем"),
        ("Дмитрий", "Дмитрием"),
        ("Николай", "Николаем"),
        ("Игорь", "Игорем"),
        ("Никита", "Никитой"),
        ("Илья", "Ильёй"),
        ("Мария", "Марией"),
        ("Анна", "Анной"),
        ("Ольга", "Ольгой"),
        ("Наталья", "Натальей"),
        ("Екатерина", "Екатериной"),
        ("Саша", "Сашей"),
    ],
)
def test_first_names(name: str, declined: str) -> None:
    assert first_name_instrumental(name) == declined


@pytest.mark.parametrize(
    ("patronymic", "declined"),
    [
        ("Петрович", "Петровичем"),
        ("Сергеевич", "Сергеевичем"),
        ("Ильич", "Ильичем"),
        ("Петровна", "Петровной"),
        ("Сергеевна", "Сергеевной"),
        ("Ильинична", "Ильиничной"),
        ("Кузьминична", "Кузьминичной"),
    ],
)
def test_patronymics(patronymic: str, declined: str) -> None:
    assert patronymic_instrumental(patronymic) == declined


def test_full_address_and_what_is_not_guessed() -> None:
    assert address_name_instrumental("Иван", "Петрович") == "Иваном Петровичем"
    assert address_name_instrumental("Валентина", "Степановна") == "Валентиной Степановной"
    # Without a patronymic, or with a form not known, the prompt is phrased without the name.
    assert address_name_instrumental("Иван", "") is None
    assert address_name_instrumental("Иван", "оглы") is None
    assert first_name_instrumental("Ю") is None
