"""Staff login: argon2, lockout after five failures, CSRF, idle expiry."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import TEST_PASSWORD, csrf_of, htmx_headers, login_as
from visits.calendar import utcnow
from visits.models import Staff


def test_login_page_and_success(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and "Вход для сотрудников" in page.get_data(as_text=True)
    login_as(client, "operator")
    assert client.get("/staff/").status_code in (200, 302)


def test_wrong_password_message_and_lockout(client: FlaskClient, session: Session) -> None:
    for _ in range(5):
        response = client.post(
            "/login", data={"login": "operator", "password": "wrong", "csrf_token": csrf_of(client)}
        )
        assert response.status_code == 401
        assert "Неверный логин или пароль." in response.get_data(as_text=True)
    response = client.post(
        "/login",
        data={"login": "operator", "password": TEST_PASSWORD, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 401
    assert "Вход заблокирован после 5 неудачных попыток" in response.get_data(as_text=True)
    staff = session.exec(select(Staff).where(Staff.login == "operator")).one()
    session.refresh(staff)
    assert staff.locked_until is not None
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        login_as(client, "operator")


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
