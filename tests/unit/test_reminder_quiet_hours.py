"""§30: when the quiet hours move a reminder, the operator is told at booking when it will go."""

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
from visits.config import OfficeConfig
from visits.queries.slots import Slot
from visits.rules import reminders_moved

NSK = ZoneInfo("Asia/Novosibirsk")


def test_two_hours_before_a_nine_oclock_visit_goes_the_evening_before(
    office_config: OfficeConfig,
) -> None:
    nine = datetime(2027, 1, 12, 9, 0, tzinfo=NSK)
    notes = reminders_moved(starts_at=nine, config=office_config, allow_early=False)
    assert notes["day"] == ""  # 09:00 the day before is inside the hours
    assert notes["two_hours"] == (
        "Напоминание за 2 часа придёт накануне в 21:00, а не в 07:00: с 21:00 до 09:00 "
        "сообщения клиентам не отправляются. Скажите об этом клиенту."
    )
    # A client who allowed early messages gets it at 07:00: nothing to tell.
    assert reminders_moved(starts_at=nine, config=office_config, allow_early=True) == {
        "day": "",
        "two_hours": "",
    }


def test_a_reminder_a_day_before_an_early_visit_moves_too(office_config: OfficeConfig) -> None:
    notes = reminders_moved(
        starts_at=datetime(2027, 1, 12, 8, 30, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert notes["day"].startswith("Напоминание за день придёт накануне в 09:00, а не в 08:30")


def test_a_midday_visit_needs_no_note_and_ten_thirty_does(office_config: OfficeConfig) -> None:
    noon = reminders_moved(
        starts_at=datetime(2027, 1, 12, 12, 0, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert noon == {"day": "", "two_hours": ""}
    half_past_ten = reminders_moved(
        starts_at=datetime(2027, 1, 12, 10, 30, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert half_past_ten["two_hours"].startswith(
        "Напоминание за 2 часа придёт в день приёма в 09:00, а не в 08:30"
    )


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
