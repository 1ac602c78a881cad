"""The edge of the web layer: bad ids, NUL bytes, overlong values and fragment addresses."""

from __future__ import annotations

import pytest
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
