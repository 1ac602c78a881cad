"""§35.3 on the terminal: «Пригласить коллегу» is its own action, the list grouped by relevance."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import ColleagueInvite, Ticket
from visits.services.queue import ticket_call_next, ticket_start


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def _in_service(session: Session, calendar: WorkCalendar, service_code: str) -> Ticket:
    at = calendar.at(calendar.today(), time(10, 0))
    booking = make_booking(session, calendar, starts_at=at, service_code=service_code)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    ivanova = staff_by_login(session, "ivanova")
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=at)
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0, now=at)
    session.refresh(ticket)
    return ticket


def test_the_terminal_offers_the_invite_as_its_own_action(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _in_service(session, open_calendar, "land-lease")
    smirnov = staff_by_login(session, "smirnov")
    login_as(client, "ivanova")
    board = client.get("/staff/today", headers=htmx_headers(client)).get_data(as_text=True)
    assert f"/staff/today/tickets/{ticket.id}/invite" in board
    form = client.get(f"/staff/today/tickets/{ticket.id}/invite", headers=htmx_headers(client))
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert html.index("Ведут этот вопрос") < html.index("Ваш отдел") < html.index("Другие")
    sent = client.post(
        f"/staff/today/tickets/{ticket.id}/invite",
        data={"to_staff": str(smirnov.id), "message": "Нужна ваша помощь"},
        headers=htmx_headers(client),
    )
    assert sent.status_code == 200
    assert "Приглашение отправлено: Алексей Викторович Смирнов." in sent.get_data(as_text=True)
    assert session.exec(select(ColleagueInvite)).one().reservation_id is None
