"""Phone normalisation and booking codes."""

import pytest

from visits.errors import InvalidInput
from visits.services.booking import CODE_ALPHABET, booking_code_new, booking_code_normalise
from visits.services.clients import email_normalise, phone_normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 913 123-45-67", "+79131234567"),
        ("89131234567", "+79131234567"),
        ("9131234567", "+79131234567"),
        ("(383) 238-60-02", "+73832386002"),
        ("238-60-02", "+73832386002"),
        ("8 (800) 100-34-34", "+78001003434"),
    ],
)
def test_phone_normalised(raw: str, expected: str) -> None:
    assert phone_normalise(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "12345", "+1 212 555 0101", "+7 713 123 45 67", "+380441234567", "телефон"]
)
def test_bad_phone_refused_in_russian(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        phone_normalise(raw)
    assert err.value.field == "phone"
    assert "номер" in err.value.message.lower()


def test_email() -> None:
    assert email_normalise(" Ivan@Example.RU ") == "ivan@example.ru"
    assert email_normalise("") is None
    with pytest.raises(InvalidInput, match="name@example.ru"):
        email_normalise("ivan.example.ru")


def test_code_alphabet_has_no_look_alikes() -> None:
    assert not set("01OIL") & set(CODE_ALPHABET)
    codes = {booking_code_new() for _ in range(200)}
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert len(codes) > 190


def test_code_normalise_accepts_qr_payload_and_spaces() -> None:
    assert booking_code_normalise("PRIYOM:ABC234") == "ABC234"
    assert booking_code_normalise(" abc 234 ") == "ABC234"
    for bad in ("ABC23", "ABC2340", "ABCO34", "ABC1L4", ""):
        with pytest.raises(InvalidInput, match="6 знаков"):
            booking_code_normalise(bad)
