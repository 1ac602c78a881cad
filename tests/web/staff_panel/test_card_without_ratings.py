"""§36: the specialist's card before the visit shows no ratings; ratings are anonymous to them."""

from __future__ import annotations

from datetime import time

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_finished_ticket, make_ticket
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import Client, Rating


def test_card_shows_the_earlier_visit_but_not_its_rating(
    client: FlaskClient, session: Session, office_config: OfficeConfig
) -> None:
    calendar = WorkCalendar(office_config, always_open=True)
    earlier = make_finished_ticket(session, calendar, days_ago=3)
    session.add(
        Rating(
            ticket_id=earlier.id,
            score=2,
            comment="Специалист был невнимателен",
            reasons=["невежливо"],
            source="tablet",
            staff_id=earlier.staff_id,
            service_id=earlier.service_id,
            room_id=earlier.room_id,
        )
    )
    session.commit()
    booking = make_booking(
        session,
        calendar,
        starts_at=calendar.at(calendar.today(), time(15, 0)),
        client=session.get(Client, earlier.client_id),
    )
    make_ticket(session, booking)
    login_as(client, "ivanova")
    page = client.get(f"/staff/today/bookings/{booking.id}/card", headers=htmx_headers(client))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert earlier.number in html  # the earlier visit is there
    for rating_words in ("Специалист был невнимателен", "невежливо", "из 5", "оценка 2", "Оценки"):
        assert rating_words not in html, rating_words
