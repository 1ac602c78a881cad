"""The role matrix over every staff route that shows or changes a client's data (§4).

The routes are taken from the URL map (every /staff route with a client, booking or
ticket id), so a new one is checked without a change here. A specialist is refused
another specialist's client on each of them, and the refusal is in the audit log;
operators and the administrator get in where their role lets them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, func, select
from werkzeug.routing import Rule

from tests.conftest import csrf_of, login_as
from tests.factories import make_booking, make_client, make_ticket
from visits.calendar import WorkCalendar
from visits.models import AuditEntry, ClientNote
from visits.services.access import REFUSED_ACTION

PERSONAL_ARGS = ("client_id", "booking_id", "ticket_id")
# Routes of a specialist's own screen whose refusal for another's client is a 403.
MUST_REFUSE = re.compile(r"^/staff/(today/bookings|clients)/")
FORM = {"text": "Заметка", "format": "csv", "reason": "Проверка"}


@dataclass
class Visit:
    client_id: int
    booking_id: int
    ticket_id: int


def _visit(session: Session, calendar: WorkCalendar, specialist: str) -> Visit:
    booking = make_booking(session, calendar, staff_login=specialist, client=make_client(session))
    ticket = make_ticket(session, booking)
    return Visit(booking.client_id, booking.id or 0, ticket.id or 0)


def _personal_rules(app: Flask) -> list[tuple[Rule, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff/") and set(PERSONAL_ARGS) & set(rule.arguments):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                rules.append((rule, method))
    return sorted(rules, key=lambda item: (item[0].rule, item[1]))


def _call(client: FlaskClient, rule: Rule, method: str, visit: Visit) -> int:
    values = {"action": "call", **{k: getattr(visit, k) for k in PERSONAL_ARGS}}
    url = rule.build({k: v for k, v in values.items() if k in rule.arguments})
    assert url is not None
    path = url[1]
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(client)}
    if method == "GET":
        return client.get(path, headers=headers).status_code
    return client.post(path, data=FORM, headers=headers).status_code


def _refusals(session: Session) -> int:
    count = session.exec(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == REFUSED_ACTION)
    ).one()
    return int(count)


def test_every_personal_route_is_in_the_matrix(app: Flask) -> None:
    paths = {rule.rule for rule, _ in _personal_rules(app)}
    assert "/staff/today/bookings/<int:booking_id>/card" in paths
    assert "/staff/today/bookings/<int:booking_id>/notes" in paths
    assert "/staff/clients/<int:client_id>" in paths


@pytest.mark.parametrize(
    ("login", "other"),
    [("ivanova", "smirnov"), ("smirnov", "ivanova")],  # smirnov heads his unit
)
def test_a_specialist_is_refused_another_specialists_client_everywhere(
    app: Flask,
    client: FlaskClient,
    session: Session,
    calendar: WorkCalendar,
    login: str,
    other: str,
) -> None:
    others = _visit(session, calendar, other)
    login_as(client, login)
    for rule, method in _personal_rules(app):
        before = _refusals(session)
        status = _call(client, rule, method, others)
        where = f"{method} {rule.rule}"
        assert status >= 400, f"{where} answered {status} to another specialist's client"
        if MUST_REFUSE.match(rule.rule):
            assert status == 403, where
        if status == 403:
            assert _refusals(session) == before + 1, f"{where}: refusal not audited"
    notes = session.exec(select(ClientNote).where(ClientNote.client_id == others.client_id))
    assert notes.all() == []


def test_a_specialist_opens_her_own_clients_card_and_history(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    mine = _visit(session, calendar, "ivanova")
    login_as(client, "ivanova")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(client)}
    assert (
        client.get(f"/staff/today/bookings/{mine.booking_id}/card", headers=headers).status_code
        == 200
    )
    note = client.post(f"/staff/today/bookings/{mine.booking_id}/notes", data=FORM, headers=headers)
    assert note.status_code == 200
    assert client.get(f"/staff/clients/{mine.client_id}").status_code == 200
    assert _refusals(session) == 0


@pytest.mark.parametrize(
    ("login", "card", "history"),
    [("operator", 403, 200), ("admin", 200, 200)],
)
def test_operators_and_the_administrator(
    client: FlaskClient,
    session: Session,
    calendar: WorkCalendar,
    login: str,
    card: int,
    history: int,
) -> None:
    others = _visit(session, calendar, "smirnov")
    login_as(client, login)
    headers = {"HX-Request": "true"}
    response = client.get(f"/staff/today/bookings/{others.booking_id}/card", headers=headers)
    assert response.status_code == card
    assert client.get(f"/staff/clients/{others.client_id}").status_code == history
    # The operator's refusal by role is audited too.
    assert _refusals(session) == (1 if card == 403 else 0)
