"""The reports page: who sees what (§36), filters, SVG charts, CSV, low-rating alerts."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import htmx_headers, login_as
from tests.factories import make_finished_ticket
from visits.calendar import WorkCalendar
from visits.models import AuditEntry, Ticket
from visits.services.rating import rating_by_token


def _rated(session: Session, calendar: WorkCalendar) -> tuple[Ticket, Ticket]:
    low = make_finished_ticket(session, calendar, days_ago=1, slot=0, wait_minutes=7)
    high = make_finished_ticket(
        session, calendar, days_ago=1, slot=0, staff_login="popov", service_code="land-free"
    )
    rating_by_token(
        session=session, token=low.token, score=2, reasons=["невежливо"], comment="Не объяснили"
    )
    rating_by_token(session=session, token=high.token, score=5, reasons=[], comment="Спасибо")
    return low, high


def _query(ticket: Ticket) -> str:
    day = ticket.office_day.isoformat()
    return f"from={day}&to={day}"


def test_administrator_sees_all_with_charts_and_can_open_the_ticket(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    low, _high = _rated(session, calendar)
    login_as(client, "admin")
    html = client.get(f"/staff/reports?{_query(low)}").get_data(as_text=True)
    assert "Отчёты" in html and "<svg" in html and "Распределение оценок" in html
    assert "Иванова М. П." in html and "Попов Д. А." in html
    assert "Не объяснили" in html and low.number in html
    assert f"/staff/reports/tickets/{low.id}" in html
    assert "Низкие оценки за 7 дней: 1" in html
    card = client.get(f"/staff/reports/tickets/{low.id}").get_data(as_text=True)
    assert "Петров Иван Петрович" in card
    audit = session.exec(select(AuditEntry).where(AuditEntry.ticket_id == low.id)).one()
    assert audit.action == "rating.ticket_view"


def test_unit_head_sees_the_unit_and_the_alert_not_the_client(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    low, _high = _rated(session, calendar)
    login_as(client, "smirnov")
    html = client.get(f"/staff/reports?{_query(low)}").get_data(as_text=True)
    assert "Иванова М. П." in html and "Попов Д. А." not in html and "Спасибо" not in html
    assert "Низкие оценки за 7 дней: 1" in html and "Не объяснили" in html
    assert "/staff/reports/tickets/" not in html
    assert client.get(f"/staff/reports/tickets/{low.id}").status_code == 403
    alerts = client.get("/staff/reports/alerts", headers=htmx_headers(client))
    assert 'id="report-alerts"' in alerts.get_data(as_text=True)


def test_specialist_sees_own_figures_anonymously(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    low, _high = _rated(session, calendar)
    login_as(client, "ivanova")
    html = client.get(f"/staff/reports?{_query(low)}").get_data(as_text=True)
    assert "Не объяснили" in html and "Спасибо" not in html
    assert low.number not in html and "Петров" not in html
    assert "Оценки по специалистам" not in html and "Низкие оценки" not in html
    assert client.get(f"/staff/reports/by_staff.csv?{_query(low)}").status_code == 404


def test_csv_export_and_filters(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    low, _high = _rated(session, calendar)
    login_as(client, "admin")
    response = client.get(f"/staff/reports/by_staff.csv?{_query(low)}")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Специалист;Оценок;Средняя;1;2;3;4;5;Доля 1–2"
    assert "Иванова М. П.;1;2,00;0;1;0;0;0;100%" in lines
    narrowed = client.get(
        f"/staff/reports/by_staff.csv?{_query(low)}&unit=Отдел предоставления земли"
    ).get_data(as_text=True)
    assert "Попов" in narrowed and "Иванова" not in narrowed
    wait = client.get(f"/staff/reports/wait.csv?{_query(low)}").get_data(as_text=True)
    assert "50-й процентиль;" in wait
    fragment = client.get(
        f"/staff/reports?{_query(low)}&service={low.service_id}", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="report">') and "<html" not in fragment
    assert "Попов Д. А." not in fragment


def test_bad_dates_and_operators(client: FlaskClient) -> None:
    login_as(client, "admin")
    response = client.get(
        "/staff/reports?from=2026-12-01&to=2026-11-01", headers=htmx_headers(client)
    )
    assert response.status_code == 422 and "Начало периода позже" in response.get_data(as_text=True)
    login_as(client, "operator")
    assert client.get("/staff/reports").status_code == 403
