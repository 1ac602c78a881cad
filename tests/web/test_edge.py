"""The edge of the web layer: bad ids, NUL bytes, overlong values and fragment addresses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_of, htmx_headers, login_as


@pytest.mark.parametrize("value", ["2147483648", "9223372036854775808", "１２", "0x10"])
def test_ids_out_of_range_are_not_found(client: FlaskClient, value: str) -> None:
    login_as(client, "admin")
    assert client.get(f"/staff/clients/{value}").status_code == 404
    assert client.get(f"/staff/desk/clients/{value}").status_code == 404


def test_nul_in_a_form_is_refused_with_a_message(client: FlaskClient) -> None:
    response = client.post(
        "/login", data={"login": "admin\x00", "password": "x", "csrf_token": csrf_of(client)}
    )
    assert response.status_code == 400
    assert "недопустимый символ" in response.get_data(as_text=True)


def test_overlong_text_and_numbers_are_refused_before_the_view(client: FlaskClient) -> None:
    login_as(client, "admin")
    long_text = client.get("/staff/clients", query_string={"q": "Я" * 20_000})
    assert long_text.status_code == 400
    assert "Слишком длинное значение" in long_text.get_data(as_text=True)
    long_number = client.get("/staff/reports", query_string={"service": "1" * 5000})
    assert long_number.status_code == 400
    assert "Слишком длинное число" in long_number.get_data(as_text=True)


@pytest.mark.parametrize("value", ["2147483648", "１２３", "-1", "1_0"])
def test_ids_in_forms_are_bounded(client: FlaskClient, value: str) -> None:
    login_as(client, "admin")
    response = client.post(
        "/staff/clients/1/merge", data={"other_id": value}, headers=htmx_headers(client)
    )
    assert response.status_code == 400
    assert "Выберите значение из списка." in response.get_data(as_text=True)


def test_report_service_beyond_any_id_is_no_filter(client: FlaskClient) -> None:
    login_as(client, "admin")
    assert client.get("/staff/reports?service=99999999999999999999").status_code == 200


def test_device_fragments_answer_a_plain_request_with_the_page(client: FlaskClient) -> None:
    login_as(client, "admin")
    listing = client.get("/staff/devices/list")
    assert listing.status_code == 200
    assert 'id="devices-form"' in listing.get_data(as_text=True)
    fragment = client.get("/staff/devices/list", headers=htmx_headers(client))
    assert 'id="devices-form"' not in fragment.get_data(as_text=True)


def test_staff_pages_are_not_stored_and_carry_the_content_security_policy(
    client: FlaskClient,
) -> None:
    login_as(client, "admin")
    page = client.get("/staff/desk")
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    static = client.get("/static/web/priyom.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


TEMPLATE_ROOTS = (
    "visits/web/templates",
    "kiosk/templates",
    "signage/templates",
    "staff_panel/templates",
)
# What the policy forbids in our own markup: inline script and handlers, inline styles,
# javascript: links, and htmx trigger filters (they are compiled with eval).
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "on*= handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "<style>": re.compile(r"<style", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "javascript: link": re.compile(r"javascript:", re.I),
    "htmx filter": re.compile(r"hx-trigger=\"[^\"]*\["),
    "hx-on": re.compile(r"hx-on"),
}


def test_no_template_needs_inline_script_or_style() -> None:
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}: {what}"
        for folder in TEMPLATE_ROOTS
        for path in sorted((root / folder).rglob("*.html"))
        for what, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def _app(session_factory: Any, office_config: Any, tmp_path: Path, **env: Any) -> Flask:
    from visits.settings import Settings
    from visits.web import create_app

    return create_app(
        config=office_config,
        session_factory=session_factory,
        demo=False,
        settings={"TESTING": True},
        environment=Settings(var_dir=tmp_path, **env),
    )


def test_metrics_need_the_token_or_an_allowed_address(
    session_factory: Any, office_config: Any, tmp_path: Path
) -> None:
    app = _app(
        session_factory,
        office_config,
        tmp_path,
        metrics_token="s3cret-token",
        metrics_allow="10.20.0.0/16",
        proxies=1,
    )
    client = app.test_client()
    outside = {"REMOTE_ADDR": "10.0.0.2"}  # nginx; the client is named in X-Forwarded-For
    assert client.get("/metrics", environ_base=outside).status_code == 403
    stranger = {"X-Forwarded-For": "203.0.113.5"}
    assert client.get("/metrics", environ_base=outside, headers=stranger).status_code == 403
    monitor = {"X-Forwarded-For": "10.20.3.4"}
    assert client.get("/metrics", environ_base=outside, headers=monitor).status_code == 200
    token = {"Authorization": "Bearer s3cret-token", **stranger}
    assert client.get("/metrics", environ_base=outside, headers=token).status_code == 200
    wrong = {"Authorization": "Bearer guess", **stranger}
    assert client.get("/metrics", environ_base=outside, headers=wrong).status_code == 403


def test_without_a_proxy_forwarded_addresses_are_not_believed(
    session_factory: Any, office_config: Any, tmp_path: Path
) -> None:
    client = _app(session_factory, office_config, tmp_path).test_client()
    spoofed = {"X-Forwarded-For": "127.0.0.1"}
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"}, headers=spoofed)
    assert response.status_code == 403


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_far_dates_in_the_history_filter_are_refused_with_a_message(
    client: FlaskClient, session: Any, calendar: Any, day: str
) -> None:
    from tests.factories import make_client

    visitor = make_client(session)
    login_as(client, "admin")
    for name in ("date_from", "date_to"):
        response = client.get(f"/staff/clients/{visitor.id}", query_string={name: day})
        assert response.status_code == 422
        assert "Укажите дату с 01.01.2000 по 31.12.2099." in response.get_data(as_text=True)


def test_a_formula_in_a_rating_comment_is_text_in_the_csv(
    client: FlaskClient, session: Any, calendar: Any
) -> None:
    from tests.factories import make_finished_ticket
    from visits.services.rating import rating_by_token

    ticket = make_finished_ticket(session, calendar, days_ago=1, slot=0)
    formula = '=HYPERLINK("http://evil.example","Подробнее")'
    rating_by_token(session=session, token=ticket.token, score=2, reasons=[], comment=formula)
    login_as(client, "admin")
    day = ticket.office_day.isoformat()
    text = client.get(f"/staff/reports/comments.csv?from={day}&to={day}").get_data(as_text=True)
    cells = [cell for line in text.splitlines() for cell in line.split(";")]
    assert any(cell.strip('"').startswith("'=HYPERLINK(") for cell in cells), text
    assert not any(cell.strip('"').startswith("=") for cell in cells)


def test_a_device_name_longer_than_its_column_is_refused_with_a_message(
    client: FlaskClient,
) -> None:
    login_as(client, "admin")
    response = client.post(
        "/staff/devices",
        data={"kind": "kiosk", "name": "Ж" * 101},
        headers=htmx_headers(client),
    )
    assert response.status_code == 422
    assert "Название устройства — не длиннее 100 символов." in response.get_data(as_text=True)


def test_a_wrong_metrics_allow_list_or_limit_stops_start_up(
    session_factory: Any, office_config: Any, tmp_path: Path
) -> None:
    from visits.settings import SettingsError

    with pytest.raises(SettingsError, match="PRIYOM_METRICS_ALLOW"):
        _app(session_factory, office_config, tmp_path, metrics_allow="10.0.0.0/8,not-a-net")
    with pytest.raises(SettingsError, match="PRIYOM_LIMITS: неизвестные ограничения: walkins"):
        _app(session_factory, office_config, tmp_path, limits={"walkins": 3})
