"""The client card in the staff panel: timeline, filters, access, export in each format."""

import csv
import io
import json

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from pypdf import PdfReader
from sqlmodel import Session, select

from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_booking, make_client, walk_visit
from tests.unit.test_history_walk import EXPECTED
from visits.calendar import WorkCalendar
from visits.models import AuditEntry, Client, HistoryEntry, MessageKind, OutgoingMessage
from visits.services.history_export import history_schema


def _export(client: FlaskClient, client_id: int, fmt: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/staff/clients/{client_id}/export",
        data={"format": fmt, "csrf_token": csrf_of(client)},
    )


def test_card_shows_the_timeline_in_local_time_and_audits_the_view(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    visitor, ticket = walk_visit(session, calendar)
    login_as(client, "operator")
    page = client.get(f"/staff/clients/{visitor.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Сидоров Пётр Ильич" in html
    assert "Выдать историю взаимодействия" in html
    assert "Передача другому специалисту" in html and ticket.number in html
    first = session.exec(
        select(HistoryEntry).where(HistoryEntry.client_id == visitor.id).order_by(HistoryEntry.id)
    ).first()
    assert calendar.to_local(first.at).strftime("%d.%m.%Y %H:%M") in html
    assert html.count('<li data-kind="') == len(EXPECTED)
    assert session.exec(
        select(AuditEntry).where(
            AuditEntry.client_id == visitor.id, AuditEntry.action == "history.view"
        )
    ).one()


def test_filter_answers_htmx_with_the_timeline_only(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    visitor, _ticket = walk_visit(session, calendar)
    login_as(client, "admin")
    response = client.get(
        f"/staff/clients/{visitor.id}?kind=called&kind=served", headers=htmx_headers(client)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="history-timeline"' in html
    assert "<html" not in html
    assert (
        html.count('<li data-kind="') == 3
    )  # two calls (before and after the transfer), one service
    assert f"Показано 3 из {len(EXPECTED)} событий." in html
    bad = client.get(f"/staff/clients/{visitor.id}?date_from=завтра", headers=htmx_headers(client))
    assert bad.status_code == 422
    assert "Дата должна быть вида" in bad.get_data(as_text=True)


def test_specialist_sees_own_clients_only(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    other = make_client(session, surname="Чужой")
    login_as(client, "ivanova")
    assert client.get(f"/staff/clients/{booking.client_id}").status_code == 200
    refused = client.get(f"/staff/clients/{other.id}")
    assert refused.status_code == 403
    assert "История этого клиента доступна" in refused.get_data(as_text=True)
    assert _export(client, other.id, "pdf").status_code == 403
    listing = client.get("/staff/clients").get_data(as_text=True)
    assert f"/staff/clients/{booking.client_id}" in listing
    searched = client.get("/staff/clients?q=Чужой").get_data(as_text=True)
    assert f"/staff/clients/{other.id}" not in searched
    assert "не найдено среди тех, кто записан к вам" in searched


def test_menu_has_clients_for_staff(client: FlaskClient) -> None:
    login_as(client, "operator")
    html = client.get("/staff/clients").get_data(as_text=True)
    assert 'href="/staff/clients"' in html and ">Клиенты<" in html


def test_export_pdf(client: FlaskClient, session: Session, calendar: WorkCalendar) -> None:
    visitor, _ticket = walk_visit(session, calendar)
    login_as(client, "operator")
    response = _export(client, visitor.id, "pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(response.data)).pages
    )
    assert "Сидоров Пётр Ильич" in text


def test_export_json_validates(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    visitor, _ticket = walk_visit(session, calendar)
    login_as(client, "operator")
    response = _export(client, visitor.id, "json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.data)
    Draft202012Validator(history_schema()).validate(document)
    assert len(document["entries"]) == len(EXPECTED)


def test_export_csv_and_html(client: FlaskClient, session: Session, calendar: WorkCalendar) -> None:
    visitor, _ticket = walk_visit(session, calendar)
    login_as(client, "operator")
    response = _export(client, visitor.id, "csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + len(EXPECTED)
    page = _export(client, visitor.id, "html")
    assert page.mimetype == "text/html"
    assert page.headers["Content-Disposition"].startswith("inline")
    assert "Сидоров Пётр Ильич" in page.get_data(as_text=True)
    # Each export is itself in the history: the earlier CSV export shows in the HTML.
    assert "Выдача истории взаимодействия" in page.get_data(as_text=True)


def test_export_needs_csrf_and_a_known_format(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    visitor = make_client(session)
    login_as(client, "operator")
    assert (
        client.post(f"/staff/clients/{visitor.id}/export", data={"format": "pdf"}).status_code
        == 400
    )
    refused = _export(client, visitor.id, "docx")
    assert refused.status_code == 422
    assert "Выберите формат" in refused.get_data(as_text=True)


def test_send_by_channel(client: FlaskClient, session: Session) -> None:
    visitor = make_client(session, channel="email")
    login_as(client, "operator")
    response = client.post(f"/staff/clients/{visitor.id}/send", headers=htmx_headers(client))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "электронная почта" in html
    assert "client-changed" in response.headers["HX-Trigger"]
    assert session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.client_id == visitor.id,
            OutgoingMessage.kind == MessageKind.HISTORY_EXPORT.value,
        )
    ).one()
    phone_only = make_client(session, channel="phone")
    refused = client.post(f"/staff/clients/{phone_only.id}/send", headers=htmx_headers(client))
    assert refused.status_code == 409
    assert "звонком" in refused.get_data(as_text=True)


def test_edit_data_in_place(client: FlaskClient, session: Session) -> None:
    visitor = make_client(session)
    login_as(client, "operator")
    form = client.get(f"/staff/clients/{visitor.id}/data?edit=1", headers=htmx_headers(client))
    assert 'name="surname"' in form.get_data(as_text=True)
    data = {
        "surname": "Петров",
        "first_name": "Иван",
        "patronymic": "Петрович",
        "phone": "+7 913 000-11-22",
        "email": "new@example.ru",
        "channel": "email",
        "second_channel": "",
    }
    saved = client.post(
        f"/staff/clients/{visitor.id}/data", data=data, headers=htmx_headers(client)
    )
    assert saved.status_code == 200
    assert "+7 913 000-11-22" in saved.get_data(as_text=True)
    assert "client-changed" in saved.headers["HX-Trigger"]
    bad = client.post(
        f"/staff/clients/{visitor.id}/data",
        data={**data, "phone": "123"},
        headers=htmx_headers(client),
    )
    assert bad.status_code == 422
    assert "Номер телефона должен быть российским" in bad.get_data(as_text=True)
    assert 'value="123"' in bad.get_data(as_text=True)


def test_withdraw_consent_shows_the_retention_note(client: FlaskClient, session: Session) -> None:
    visitor = make_client(session)
    login_as(client, "ivanova")
    # A specialist without a booking of this client may not act on it.
    assert (
        client.post(
            f"/staff/clients/{visitor.id}/consent-withdraw", headers=htmx_headers(client)
        ).status_code
        == 403
    )
    login_as(client, "operator")
    response = client.post(
        f"/staff/clients/{visitor.id}/consent-withdraw", headers=htmx_headers(client)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Отозвано" in html and "хранятся пять лет" in html


def test_merge_from_the_card(client: FlaskClient, session: Session, calendar: WorkCalendar) -> None:
    kept = make_client(session, surname="Бобров")
    duplicate = make_client(session, surname="Бобров")
    make_booking(session, calendar, client=duplicate)
    login_as(client, "operator")
    found = client.get(
        f"/staff/clients/{kept.id}/merge?q=Бобров", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert f"№ {duplicate.id}" in found and f"№ {kept.id} " not in found
    response = client.post(
        f"/staff/clients/{kept.id}/merge",
        data={"other_id": str(duplicate.id)},
        headers=htmx_headers(client),
    )
    assert response.headers["HX-Redirect"] == f"/staff/clients/{kept.id}"
    session.expire_all()
    assert session.get(Client, duplicate.id).merged_into_id == kept.id
    card = client.get(f"/staff/clients/{kept.id}").get_data(as_text=True)
    assert "Объединение записей клиента" in card and "Запись на приём" in card
    login_as(client, "ivanova")
    assert (
        client.get(
            f"/staff/clients/{kept.id}/merge?q=Бобров", headers=htmx_headers(client)
        ).status_code
        == 403
    )
