"""Staff login: argon2, lockout after five failures, CSRF, idle expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature
from sqlalchemy import event
from sqlmodel import Session, col, select

from tests.conftest import TEST_PASSWORD, Database, csrf_of, htmx_headers, login_as
from visits.calendar import utcnow
from visits.models import AuditEntry, Staff, StaffSession


def test_login_page_and_success(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and "Вход для сотрудников" in page.get_data(as_text=True)
    login_as(client, "operator")
    assert client.get("/staff/").status_code in (200, 302)


def _try(client: FlaskClient, login: str, password: str, address: str = "10.0.0.7") -> str:
    response = client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(client)},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 401
    return response.get_data(as_text=True)


def test_wrong_passwords_make_the_login_wait_and_never_lock_it(
    client: FlaskClient, session: Session
) -> None:
    start = utcnow()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            assert "Неверный логин или пароль." in _try(client, "operator", "wrong")
        # The sixth try, even with the right password, waits: the answer names the wait.
        assert "Подождите 2 с" in _try(client, "operator", TEST_PASSWORD)
        assert "Подождите 2 с" in _try(client, "operator", TEST_PASSWORD, address="10.0.0.8")
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        assert "Неверный логин или пароль." in _try(client, "operator", "wrong")
        assert "Подождите 4 с" in _try(client, "operator", "wrong")
    # The longest wait is a minute: the account is open again with no administrator.
    with time_machine.travel(start + timedelta(seconds=70), tick=False):
        login_as(client, "operator")
    staff = session.exec(select(Staff).where(Staff.login == "operator")).one()
    session.refresh(staff)
    assert staff.locked_until is None


def test_unknown_and_known_logins_get_the_same_answers(client: FlaskClient) -> None:
    start = utcnow()
    answers: dict[str, list[str]] = {"operator": [], "nobody-here": []}
    with time_machine.travel(start, tick=False):
        for login, seen in answers.items():
            for _ in range(7):
                page = _try(client, login, "wrong", address=f"10.1.0.{len(login)}")
                seen.append(re.findall(r'id="login-error">([^<]*)<', page)[0])
    assert answers["operator"] == answers["nobody-here"]
    assert (
        answers["operator"][-1]
        == "Слишком много неудачных попыток входа. Подождите 2 с и попробуйте снова."
    )


def test_a_burst_of_failures_is_told_to_the_administrators(
    client: FlaskClient, session: Session
) -> None:
    start = utcnow()
    for i in range(20):
        # Wrong passwords from one address, each with another login: no login waits, the address does.
        with time_machine.travel(start + timedelta(seconds=i * 5), tick=False):
            _try(client, f"guess{i}", "wrong", address="203.0.113.9")
    alerts = session.exec(select(AuditEntry).where(AuditEntry.action == "login.burst")).all()
    assert len(alerts) == 1 and "203.0.113.9" in alerts[0].details
    login_as(client, "admin")
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert 'hx-get="/staff/alerts/security"' in page
    alert = client.get("/staff/alerts/security", headers={"HX-Request": "true"})
    text = alert.get_data(as_text=True)
    assert "Много неудачных попыток входа: 1 под логином «guess19», 20 с адреса 203.0.113.9" in text


def test_post_without_csrf_is_refused(client: FlaskClient) -> None:
    csrf_of(client)
    response = client.post("/login", data={"login": "operator", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "Страница устарела" in response.get_data(as_text=True)
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRF-Token": "stale"})
    assert response.status_code == 400
    assert 'id="error"' in response.get_data(as_text=True)


def test_session_cookie_flags_and_logout(client: FlaskClient) -> None:
    csrf = csrf_of(client)
    response = client.post(
        "/login", data={"login": "operator", "password": TEST_PASSWORD, "csrf_token": csrf}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    response = client.post("/logout", headers=htmx_headers(client))
    assert response.headers["HX-Redirect"] == "/login"
    assert client.get("/staff/").status_code == 303


def test_unchanged_session_cookie_is_not_sent_again(client: FlaskClient) -> None:
    """A staff answer re-signs and re-sends the session cookie only when the session changed."""
    login_as(client, "operator")
    response = client.get("/staff/", headers={"HX-Request": "true"})
    assert response.status_code in (200, 302)
    assert "Set-Cookie" not in response.headers
    response = client.post("/logout", headers=htmx_headers(client))
    assert "session=" in response.headers["Set-Cookie"]


def test_idle_session_expires(client: FlaskClient) -> None:
    login_as(client, "operator")
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        response = client.get("/staff/")
        assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_specialist_cannot_open_operator_desk(client: FlaskClient) -> None:
    login_as(client, "ivanova")
    assert client.get("/staff/desk").status_code == 403


def test_login_sends_only_to_paths_on_this_site(client: FlaskClient) -> None:
    for target, expected in (
        ("/staff/today", "/staff/today"),
        ("/%09/evil.example/", "/staff/"),
        ("//evil.example/", "/staff/"),
        ("/staff/\r\nSet-Cookie: x=1", "/staff/"),
    ):
        client.post("/logout", headers=htmx_headers(client))
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"login": "operator", "password": TEST_PASSWORD, "csrf_token": csrf_of(client)},
        )
        assert response.status_code == 303, target
        assert response.headers["Location"] == expected


def test_a_session_ends_a_working_day_after_the_login_however_busy(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "operator")
    assert client.get("/staff/desk").status_code == 200
    row = session.exec(select(StaffSession).where(col(StaffSession.ended_at).is_(None))).one()
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    row.last_seen_at = utcnow() - timedelta(minutes=5)  # used a moment ago
    session.add(row)
    session.commit()
    response = client.get("/staff/desk")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def _staff_reads(database: Database, client: FlaskClient) -> list[str]:
    """The statements of one staff request that only resumes its login (GET /staff/, htmx)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", statement, re.I):
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        response = client.get("/staff/", headers={"HX-Request": "true"})
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert response.status_code == 302
    return seen


def test_a_staff_request_resumes_its_login_with_one_statement(
    client: FlaskClient, session: Session, database: Database
) -> None:
    """The login and its staff member in one read; its last use noted at most once a minute."""
    login_as(client, "operator")
    assert len(_staff_reads(database, client)) == 1
    row = session.exec(select(StaffSession).where(col(StaffSession.ended_at).is_(None))).one()
    seen = utcnow() - timedelta(minutes=2)
    row.last_seen_at = seen
    session.add(row)
    session.commit()
    assert len(_staff_reads(database, client)) == 2  # the read and the note of its use
    session.refresh(row)
    assert row.last_seen_at > seen + timedelta(minutes=1)
    assert len(_staff_reads(database, client)) == 1


def test_an_expired_login_is_ended_and_a_deactivated_one_opens_nothing(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "operator")
    row = session.exec(select(StaffSession).where(col(StaffSession.ended_at).is_(None))).one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.add(row)
    session.commit()
    assert client.get("/staff/desk").status_code == 303
    session.refresh(row)
    assert row.ended_at is not None
    login_as(client, "operator")
    assert client.get("/staff/desk").status_code == 200
    staff = session.exec(select(Staff).where(Staff.login == "operator")).one()
    staff.active = False
    session.add(staff)
    session.commit()
    response = client.get("/staff/desk")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_the_session_serializer_is_built_once_per_key(app: Flask) -> None:
    """Built once, not per request; a changed secret key gets its own (old cookies then fail)."""
    cookies = app.session_interface
    first = cookies.get_signing_serializer(app)
    assert first is not None and cookies.get_signing_serializer(app) is first
    signed = first.dumps({"csrf": "x"})
    app.secret_key = "another-secret-key-for-this-test"
    second = cookies.get_signing_serializer(app)
    assert second is not None and second is not first
    with pytest.raises(BadSignature):
        second.loads(signed)
