"""Names in cases and gendered verbs (§34.3, §34.4): "перед Любовью Ивановной", «записана».

The names are the ones a Novosibirsk office hears every day: Russian, Tatar, Kazakh,
Uzbek, Azerbaijani. Each expected form is what a native speaker writes; a
hand-written ending table got several of them wrong («Любовем», «Ильичем», «Айгулем»).
"""

from __future__ import annotations

import pytest

from visits.ru import (
    Case,
    Gender,
    address_name_instrumental,
    by_gender,
    decline_name,
    first_name_instrumental,
    name_gender,
    patronymic_instrumental,
)


@pytest.mark.parametrize(
    ("name", "declined"),
    [
        ("Иван", "Иваном"),
        ("Пётр", "Петром"),
        ("Павел", "Павлом"),
        ("Лев", "Львом"),
        ("Сергей", "Сергеем"),
        ("Дмитрий", "Дмитрием"),
        ("Игорь", "Игорем"),
        ("Никита", "Никитой"),
        ("Илья", "Ильёй"),
        ("Фома", "Фомой"),
        ("Мария", "Марией"),
        ("Наталья", "Натальей"),
        ("Любовь", "Любовью"),
        ("Нинель", "Нинелью"),
        ("Зинаида", "Зинаидой"),
        ("Оксана", "Оксаной"),
        ("Ия", "Ией"),
        ("Нурлан", "Нурланом"),
        ("Тимур", "Тимуром"),
        ("Алишер", "Алишером"),
        ("Ильдар", "Ильдаром"),
        ("Гульнара", "Гульнарой"),
        ("Динара", "Динарой"),
        # A female name in a hard consonant does not decline; «Айгулем» is the error to avoid.
        ("Айгуль", "Айгуль"),
        ("Анна-Мария", "Анной-Марией"),
        ("ИВАН", "Иваном"),
    ],
)
def test_first_names_instrumental(name: str, declined: str) -> None:
    assert first_name_instrumental(name) == declined


@pytest.mark.parametrize(
    ("patronymic", "declined"),
    [
        ("Петрович", "Петровичем"),
        # Stressed -ич takes -ом: «Владимиром Ильичом», «Никитой Фомичом».
        ("Ильич", "Ильичом"),
        ("Фомич", "Фомичом"),
        ("Кузьмич", "Кузьмичом"),
        ("Рашидович", "Рашидовичем"),
        ("Петровна", "Петровной"),
        ("Аркадьевна", "Аркадьевной"),
        ("Ильинична", "Ильиничной"),
        ("Кузьминична", "Кузьминичной"),
        ("Маратовна", "Маратовной"),
        ("Гусейн оглы", "Гусейн оглы"),
    ],
)
def test_patronymics_instrumental(patronymic: str, declined: str) -> None:
    assert patronymic_instrumental(patronymic) == declined


@pytest.mark.parametrize(
    ("first", "patronymic", "instrumental"),
    [
        ("Любовь", "Ивановна", "Любовью Ивановной"),
        ("Зинаида", "Аркадьевна", "Зинаидой Аркадьевной"),
        ("Тимур", "Рашидович", "Тимуром Рашидовичем"),
        ("Владимир", "Ильич", "Владимиром Ильичом"),
        ("Айгуль", "Рашидовна", "Айгуль Рашидовной"),
        ("Нурлан", "Ерланович", "Нурланом Ерлановичем"),
        ("Гульнара", "Маратовна", "Гульнарой Маратовной"),
        ("Оксана", "Петровна", "Оксаной Петровной"),
        ("Мамед", "Гусейн оглы", "Мамедом Гусейн оглы"),
        ("Саша", "Петровна", "Сашей Петровной"),
    ],
)
def test_address_name_instrumental(first: str, patronymic: str, instrumental: str) -> None:
    assert address_name_instrumental(first, patronymic) == instrumental


def test_without_a_patronymic_the_prompt_does_without_the_name() -> None:
    assert address_name_instrumental("Иван", "") is None
    assert address_name_instrumental("", "Петрович") is None


def test_other_cases_and_the_surname() -> None:
    assert (
        decline_name(
            first_name="Тимур", patronymic="Рашидович", surname="Ахметов", case=Case.DATIVE
        )
        == "Тимуру Рашидовичу Ахметову"
    )
    assert (
        decline_name(
            first_name="Анна", patronymic="Ильинична", surname="Иванова", case=Case.GENITIVE
        )
        == "Анны Ильиничны Ивановой"
    )
    # A Korean surname of the region stays as it is for a woman and declines for a man.
    assert decline_name(first_name="Ольга", surname="Ким", case=Case.INSTRUMENTAL) == "Ольгой Ким"
    assert decline_name(first_name="Олег", surname="Ким", case=Case.INSTRUMENTAL) == "Олегом Кимом"


@pytest.mark.parametrize(
    ("first", "patronymic", "gender"),
    [
        ("Любовь", "Ивановна", Gender.FEMALE),
        ("Айгуль", "", Gender.FEMALE),
        ("Женя", "Петрович", Gender.MALE),
        ("Саша", "Петровна", Gender.FEMALE),
        ("Нурлан", "", Gender.MALE),
        ("Мамед", "Гусейн оглы", Gender.MALE),
        ("Саша", "", None),
    ],
)
def test_gender_from_the_patronymic(first: str, patronymic: str, gender: Gender | None) -> None:
    assert name_gender(first, patronymic) is gender


def test_gendered_verb_replaces_the_bracketed_ending() -> None:
    assert by_gender("записан", "записана", first_name="Зинаида", patronymic="Аркадьевна") == (
        "записана"
    )
    assert by_gender("записан", "записана", first_name="Тимур", patronymic="Рашидович") == (
        "записан"
    )
    # Only a name that tells nothing keeps both forms.
    assert by_gender("записан", "записана", first_name="Саша") == "записан(а)"
