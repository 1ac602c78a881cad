"""§34.4 on the terminal: «Завтра» lists tomorrow's visits; «Подготовлено» marks one."""

from __future__ import annotations

from datetime import time

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_client
from visits.calendar import WorkCalendar
from visits.models import Booking
from visits.queries.preparation import preparation_day


def test_tomorrow_page_card_and_the_prepared_mark(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    day = preparation_day(calendar)
    booking = make_booking(
        session,
        calendar,
        starts_at=calendar.at(day, time(10, 0)),
        client=make_client(
            session, first_name="Айгуль", patronymic="Рашидовна", surname="Ибрагимова"
        ),
    )
    login_as(client, "ivanova")
    page = client.get("/staff/today/tomorrow").get_data(as_text=True)
    assert "Завтра" in page and "Айгуль Рашидовна" in page and "10:00" in page
    assert "Кадастровый номер участка" in page and "не подготовлено" in page
    assert f"/staff/today/bookings/{booking.id}/card" in page
    card = client.get(f"/staff/today/bookings/{booking.id}/card", headers=htmx_headers(client))
    assert card.status_code == 200 and "Ибрагимова" in card.get_data(as_text=True)
    marked = client.post(
        f"/staff/today/tomorrow/{booking.id}/prepared",
        data={"prepared": "yes"},
        headers=htmx_headers(client),
    )
    html = marked.get_data(as_text=True)
    assert marked.status_code == 200 and html.lstrip().startswith('<div id="tomorrow"')
    assert '<span class="tag">подготовлено</span>' in html
    session.expire_all()
    saved = session.get(Booking, booking.id)
    assert saved is not None and saved.prepared_at is not None


def test_the_operator_has_no_tomorrow_page(client: FlaskClient) -> None:
    login_as(client, "operator")
    assert client.get("/staff/today/tomorrow").status_code == 403
