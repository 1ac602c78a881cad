"""§35.5 on the terminal and in the report: mark, apology prompt, the report's table."""

from __future__ import annotations

from datetime import time, timedelta

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.services.queue import ticket_call_next, ticket_start


def test_mark_the_fault_and_see_the_apology_and_the_report(
    client: FlaskClient, session: Session, office_config: OfficeConfig
) -> None:
    calendar = WorkCalendar(office_config, always_open=True)
    at = calendar.at(calendar.today(), time(10, 0))
    booking = make_booking(session, calendar, starts_at=at)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    ivanova = staff_by_login(session, "ivanova")
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=at)
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0, now=at)
    login_as(client, "ivanova")
    board = client.get("/staff/today", headers=htmx_headers(client)).get_data(as_text=True)
    assert f"/staff/today/tickets/{ticket.id}/fault" in board
    form = client.get(f"/staff/today/tickets/{ticket.id}/fault", headers=htmx_headers(client))
    assert form.status_code == 200 and "Коротко: в чём ошибка" in form.get_data(as_text=True)
    empty = client.post(
        f"/staff/today/tickets/{ticket.id}/fault", data={"reason": ""}, headers=htmx_headers(client)
    )
    assert empty.status_code == 422 and empty.headers["HX-Retarget"] == "#today-side"
    done = client.post(
        f"/staff/today/tickets/{ticket.id}/fault",
        data={"reason": "справку подготовили с ошибкой"},
        headers=htmx_headers(client),
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Извинитесь перед Иваном Петровичем" in html and "справку подготовили с ошибкой" in html
    admin = client.application.test_client()
    login_as(admin, "admin")
    report = admin.get("/staff/reports", headers=htmx_headers(admin)).get_data(as_text=True)
    assert "Ошибки департамента (§35.5)" in report and "справку подготовили с ошибкой" in report
