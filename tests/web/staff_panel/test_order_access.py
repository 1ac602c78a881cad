"""§28, §32: booking and cancelling go through the phone operator (and the administrator).

A specialist or a visitor's browser that posts to the booking or cancel route
is refused and changes nothing; the operator and the administrator get through.
Time is frozen on Tuesday 29 December 2026, 11:05 in Novosibirsk, as in test_desk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_booking, make_client, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.models import Booking, BookingStatus, Client
from visits.phones import NO_SMS_TO_LANDLINE
from visits.queries.slots import Slot

NSK = ZoneInfo("Asia/Novosibirsk")
NOW = datetime(2026, 12, 29, 11, 5, tzinfo=NSK)
VISIT = datetime(2027, 1, 11, 10, 30, tzinfo=NSK)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        yield


def _book(browser: FlaskClient, session: Session, client_id: int) -> tuple[int, str]:
    staff = staff_by_login(session, "ivanova")
    key = Slot(staff.id or 0, VISIT.astimezone(UTC), VISIT.astimezone(UTC)).key
    response = browser.post(
        "/staff/desk/bookings",
        data={
            "client": client_id,
            "service": service_by_code(session, "land-lease").id,
            "slot": key,
            "reminders": "day",
            "submit_key": f"k-{key}",
            "csrf_token": csrf_of(browser),
        },
        headers=htmx_headers(browser),
    )
    return response.status_code, response.get_data(as_text=True)


def _bookings_of(session: Session, client_id: int) -> list[Booking]:
    return list(session.exec(select(Booking).where(Booking.client_id == client_id)).all())


def test_a_specialist_cannot_book(client: FlaskClient, session: Session) -> None:
    person = make_client(session)
    login_as(client, "ivanova")
    status, _ = _book(client, session, person.id or 0)
    assert status == 403
    assert _bookings_of(session, person.id or 0) == []


def test_an_anonymous_browser_cannot_book(client: FlaskClient, session: Session) -> None:
    person = make_client(session)
    status, _ = _book(client, session, person.id or 0)
    assert status != 200
    assert _bookings_of(session, person.id or 0) == []


@pytest.mark.parametrize("login", ["operator", "admin"])
def test_the_operator_and_the_administrator_book(
    client: FlaskClient, session: Session, login: str
) -> None:
    person = make_client(session, first_name="Зинаида", patronymic="Аркадьевна")
    login_as(client, login)
    status, html = _book(client, session, person.id or 0)
    assert status == 200, html
    assert len(_bookings_of(session, person.id or 0)) == 1
    # «записан(а)» agrees with the client's name (visits.ru).
    assert "Зинаида Аркадьевна записана." in html


def test_a_specialist_cannot_cancel(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, starts_at=VISIT.astimezone(UTC), now=NOW)
    login_as(client, "ivanova")
    path = f"/staff/desk/bookings/{booking.id}/cancel"
    assert client.get(path, headers=htmx_headers(client)).status_code == 403
    refused = client.post(
        path,
        data={"reason": "по просьбе", "csrf_token": csrf_of(client)},
        headers=htmx_headers(client),
    )
    assert refused.status_code == 403
    session.refresh(booking)
    assert booking.status == BookingStatus.BOOKED


def test_the_operator_cancels(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, starts_at=VISIT.astimezone(UTC), now=NOW)
    login_as(client, "operator")
    response = client.post(
        f"/staff/desk/bookings/{booking.id}/cancel",
        data={"reason": "по просьбе", "csrf_token": csrf_of(client)},
        headers=htmx_headers(client),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED


REGISTER = {
    "surname": "Белова",
    "first_name": "Дарья",
    "patronymic": "Олеговна",
    "email": "",
    "consent": "yes",
}


def test_the_desk_completes_a_city_number_with_the_office_city_code(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "operator")
    response = client.post(
        "/staff/desk/clients",
        data={**REGISTER, "phone": "238-60-02", "channel": "phone", "csrf_token": csrf_of(client)},
        headers=htmx_headers(client),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    saved = session.exec(select(Client).where(Client.surname == "Белова")).one()
    assert saved.phone == "+73832386002"


def test_the_desk_refuses_sms_to_a_city_number(client: FlaskClient, session: Session) -> None:
    login_as(client, "operator")
    response = client.post(
        "/staff/desk/clients",
        data={**REGISTER, "phone": "238-60-02", "channel": "sms", "csrf_token": csrf_of(client)},
        headers=htmx_headers(client),
    )
    assert response.status_code == 422
    assert NO_SMS_TO_LANDLINE in response.get_data(as_text=True)
