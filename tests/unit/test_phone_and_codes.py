"""Phone numbers by the numbering plan (visits.phones), the SMS channel, and booking codes."""

import pytest
from sqlmodel import Session

from tests.factories import make_client
from visits.errors import InvalidInput
from visits.phones import (
    NEEDS_CITY_CODE,
    NO_SMS_TO_LANDLINE,
    phone_check_sms,
    phone_display,
    phone_is_mobile,
    phone_normalise,
)
from visits.services.booking import CODE_ALPHABET, booking_code_new, booking_code_normalise
from visits.services.client_data import client_update
from visits.services.clients import ClientInvalid, email_normalise


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
    assert phone_normalise(raw, city_code="383") == expected


def test_local_number_takes_the_city_code_of_the_office_file() -> None:
    # Omsk's office file says 3812: six-digit local numbers there.
    assert phone_normalise("21-23-45", city_code="3812") == "+73812212345"
    assert phone_normalise("238-60-02", city_code="383") == "+73832386002"
    with pytest.raises(InvalidInput) as err:
        phone_normalise("238-60-02")
    assert err.value.message == NEEDS_CITY_CODE


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "+1 212 555 0101",
        "+7 713 123 45 67",
        "+380441234567",
        "телефон",
        # The regular expression accepted these: no such Russian codes.
        "+7 300 123-45-67",
        "+7 600 123-45-67",
        "8 (200) 123-45-67",
    ],
)
def test_bad_phone_refused_in_russian(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        phone_normalise(raw, city_code="383")
    assert err.value.field == "phone"
    assert "номер" in err.value.message.lower()


def test_display_and_kind_of_number() -> None:
    assert phone_display("+79131234567") == "+7 913 123-45-67"
    assert phone_display("+73832386002") == "+7 383 238-60-02"
    assert phone_display("не номер") == "не номер"
    assert phone_is_mobile("+79131234567")
    assert not phone_is_mobile("+73832386002")
    assert not phone_is_mobile("+78001003434")


def test_sms_refused_for_a_number_that_is_not_mobile() -> None:
    phone_check_sms("+79131234567")
    with pytest.raises(InvalidInput) as err:
        phone_check_sms("+73832386002")
    assert err.value.message == NO_SMS_TO_LANDLINE and err.value.field == "channel"


def test_registration_with_sms_to_a_landline_is_refused(session: Session) -> None:
    with pytest.raises(ClientInvalid) as err:
        make_client(session, phone="+7 383 238-60-02", channel="sms")
    assert err.value.errors["channel"] == NO_SMS_TO_LANDLINE
    with pytest.raises(ClientInvalid) as err:
        make_client(session, phone="+7 383 238-60-02", channel="email", second_channel="sms")
    assert err.value.errors["second_channel"] == NO_SMS_TO_LANDLINE
    # A call or e-mail to the same landline is fine.
    client = make_client(session, phone="+7 383 238-60-02", channel="phone")
    assert client.phone == "+73832386002"


def test_changing_to_sms_on_a_landline_is_refused(session: Session) -> None:
    client = make_client(session)
    assert client.id is not None
    with pytest.raises(InvalidInput) as err:
        client_update(
            session=session,
            client_id=client.id,
            staff=None,
            surname=client.surname,
            first_name=client.first_name,
            patronymic=client.patronymic,
            phone="238-60-02",
            email=client.email,
            channel="sms",
            second_channel=None,
            city_code="383",
        )
    assert err.value.message == NO_SMS_TO_LANDLINE


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
