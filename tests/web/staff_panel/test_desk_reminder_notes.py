"""§30 at the desk: before booking, the operator hears when each reminder will really go."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import htmx_headers, login_as
from tests.factories import make_client, service_by_code, staff_by_login
from visits.queries.slots import Slot

NSK = ZoneInfo("Asia/Novosibirsk")


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 12, 29, 11, 5, tzinfo=NSK).astimezone(UTC), tick=False):
        yield


@pytest.mark.usefixtures("frozen")
def test_the_desk_shows_the_actual_time_before_booking(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "operator")
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    staff = staff_by_login(session, "ivanova")
    nine = datetime(2027, 1, 11, 9, 0, tzinfo=NSK).astimezone(UTC)
    key = Slot(staff.id or 0, nine, nine).key
    response = client.get(
        f"/staff/desk/step?client={person.id}&service={service.id}&slot={key}",
        headers=htmx_headers(client),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Проверьте запись" in html
    assert 'data-moved="two_hours"' in html
    assert "Напоминание за 2 часа придёт накануне в 21:00, а не в 07:00" in html


@pytest.mark.usefixtures("frozen")
def test_the_desk_tells_when_the_reminder_call_can_be_made(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "operator")
    person = make_client(session, channel="phone", second_channel=None)
    service = service_by_code(session, "land-lease")
    staff = staff_by_login(session, "ivanova")
    nine = datetime(2027, 1, 12, 9, 0, tzinfo=NSK).astimezone(UTC)
    key = Slot(staff.id or 0, nine, nine).key
    html = client.get(
        f"/staff/desk/step?client={person.id}&service={service.id}&slot={key}",
        headers=htmx_headers(client),
    ).get_data(as_text=True)
    assert "Позвонить с напоминанием за 2 часа оператор сможет накануне до 17:59" in html
    # Messages' quiet hours do not concern a client who is only called.
    assert "сообщения клиентам не отправляются" not in html
