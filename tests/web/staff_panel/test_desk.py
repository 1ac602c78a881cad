"""The operator's booking desk through the Flask client: every action, its fragment and bad input.

Time is frozen on Tuesday 29 December 2026, 11:05 in Novosibirsk: the next
working day is the 30th, then the New Year holidays run to 10 January 2027.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_booking, make_client, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.errors import SLOT_TAKEN
from visits.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Client,
    MessageKind,
    OutgoingMessage,
    SlotHold,
)
from visits.queries.slots import Slot

NSK = ZoneInfo("Asia/Novosibirsk")
NOW = datetime(2026, 12, 29, 11, 5, tzinfo=NSK)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        yield


@pytest.fixture
def operator(client: FlaskClient) -> FlaskClient:
    login_as(client, "operator")
    return client


def hx(client: FlaskClient) -> dict[str, str]:
    return htmx_headers(client)


def text_of(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def slot_keys(html: str) -> list[str]:
    return re.findall(r'data-slot="([0-9]+-[0-9]+)"', html)


def key_at(session: Session, login: str, local: datetime) -> str:
    staff = staff_by_login(session, login)
    assert staff.id is not None
    return Slot(staff.id, local.astimezone(UTC), local.astimezone(UTC)).key


def book_form(browser: FlaskClient, **values: object) -> dict[str, object]:
    form: dict[str, object] = {"reminders": "two_hours", "submit_key": f"k-{values.get('slot')}"}
    form.update(values)
    form["csrf_token"] = csrf_of(browser)
    return form


# ------------------------------------------------------------------ access and page


def test_page_and_menu_for_operator(operator: FlaskClient) -> None:
    response = operator.get("/staff/desk")
    html = text_of(response)
    assert response.status_code == 200
    assert "<html" in html and 'id="desk"' in html
    assert 'aria-current="page"' in html and "Запись на приём" in html
    assert "Найти клиента" in html and "Выберите услугу" in html
    assert "HX-Request" in response.headers["Vary"]


def test_home_sends_operator_to_desk(operator: FlaskClient) -> None:
    response = operator.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/desk")


@pytest.mark.parametrize(
    "path", ["/staff/desk", "/staff/desk/search?q=Петров", "/staff/desk/step?service=1"]
)
def test_specialist_is_refused_everywhere(client: FlaskClient, path: str) -> None:
    login_as(client, "ivanova")
    assert client.get(path, headers=hx(client)).status_code == 403


def test_anonymous_goes_to_login(client: FlaskClient) -> None:
    response = client.get("/staff/desk")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


# ------------------------------------------------------------------ search and open


def test_search_by_phone_in_any_format_and_by_surname(
    operator: FlaskClient, session: Session
) -> None:
    make_client(
        session,
        surname="Сорокина",
        first_name="Ольга",
        phone="+79131112299",
        email="olga@example.ru",
        channel="email",
    )
    make_client(session, surname="Сорокин", first_name="Павел", phone="+79235550000")
    for query in ("8 (913) 111-22-99", "+7 913 111 22 99", "2299", "сорок", "СОРОКИНА"):
        response = operator.get(
            "/staff/desk/search", query_string={"q": query}, headers=hx(operator)
        )
        html = text_of(response)
        assert response.status_code == 200
        assert html.lstrip().startswith('<div id="desk-search-results"')
        assert "Сорокина Ольга" in html, query
        # Staff see the full phone, the e-mail and the channel.
        assert "+7 913 111-22-99" in html and "olga@example.ru" in html
        assert "электронная почта" in html
    html = text_of(
        operator.get("/staff/desk/search", query_string={"q": "сорокин п"}, headers=hx(operator))
    )
    assert "Сорокин Павел" in html and "Сорокина" not in html


def test_search_wildcards_are_plain_text(operator: FlaskClient, session: Session) -> None:
    make_client(session, surname="Петров")
    for query in ("%", "_", "Петр_в", "Петр%", "12"):
        html = text_of(
            operator.get("/staff/desk/search", query_string={"q": query}, headers=hx(operator))
        )
        assert "Петров Иван" not in html, query


def test_search_without_match_offers_registration(operator: FlaskClient) -> None:
    html = text_of(
        operator.get(
            "/staff/desk/search", query_string={"q": "Несуществующий"}, headers=hx(operator)
        )
    )
    assert "не найден" in html
    form = text_of(
        operator.get(
            "/staff/desk/clients/new", query_string={"q": "8 913 000-11-22"}, headers=hx(operator)
        )
    )
    assert form.lstrip().startswith('<div id="desk-client"')
    assert 'value="8 913 000-11-22"' in form


def test_open_client_shows_card_and_writes_audit(operator: FlaskClient, session: Session) -> None:
    person = make_client(session, surname="Орлова", first_name="Нина", patronymic="Сергеевна")
    response = operator.get(f"/staff/desk?client={person.id}", headers=hx(operator))
    html = text_of(response)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="desk"')
    assert "Орлова Нина Сергеевна" in html and "Нина Сергеевна" in html
    assert "Предстоящих записей нет." in html
    assert response.headers["HX-Push-Url"] == f"/staff/desk?client={person.id}"
    audit = session.exec(select(AuditEntry).where(AuditEntry.client_id == person.id)).all()
    assert [a.action for a in audit] == ["client.open"]


def test_unknown_client_id_shows_search_again(operator: FlaskClient) -> None:
    html = text_of(operator.get("/staff/desk?client=999999", headers=hx(operator)))
    assert "Клиент не найден" in html and 'id="desk-q"' in html


# ------------------------------------------------------------------ registration

GOOD = {
    "surname": "Белова",
    "first_name": "Дарья",
    "patronymic": "Олеговна",
    "phone": "8 (913) 765-43-21",
    "email": "Daria@Example.ru",
    "channel": "sms",
    "second_channel": "email",
    "consent": "yes",
    "allow_early_messages": "yes",
}


def test_register_client(operator: FlaskClient, session: Session) -> None:
    response = operator.post("/staff/desk/clients", data=GOOD, headers=hx(operator))
    html = text_of(response)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#desk"
    assert "Клиент зарегистрирован." in html and "Белова Дарья Олеговна" in html
    saved = session.exec(select(Client).where(Client.surname == "Белова")).one()
    assert saved.phone == "+79137654321"
    assert saved.email == "daria@example.ru"
    assert (saved.channel, saved.second_channel) == ("sms", "email")
    assert saved.allow_early_messages is True
    assert saved.consent_at == NOW.astimezone(UTC)
    assert response.headers["HX-Push-Url"] == f"/staff/desk?client={saved.id}"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"phone": "+7 713 123 45 67"}, "phone", "Такого номера в России нет"),
        ({"phone": "+1 212 555 0101"}, "phone", "должен быть российским"),
        ({"phone": "12345"}, "phone", "Номер телефона должен быть российским"),
        ({"email": "daria.example.ru"}, "email", "name@example.ru"),
        ({"channel": ""}, "channel", "Выберите способ связи"),
        ({"channel": "pigeon"}, "channel", "Такого способа связи нет"),
        ({"channel": "email", "email": "", "second_channel": ""}, "email", "укажите адрес"),
        ({"consent": ""}, "consent", "Без согласия на обработку персональных данных"),
        ({"surname": " "}, "surname", "Укажите фамилию"),
        ({"first_name": "Д4рья"}, "first_name", "Проверьте имя"),
    ],
)
def test_register_bad_input_keeps_typing_and_saves_nothing(
    operator: FlaskClient, session: Session, change: dict[str, str], field: str, words: str
) -> None:
    before = len(session.exec(select(Client)).all())
    response = operator.post("/staff/desk/clients", data={**GOOD, **change}, headers=hx(operator))
    html = text_of(response)
    assert response.status_code == 422
    assert html.lstrip().startswith('<div id="desk-client"')
    match = re.search(rf'<p class="field-error" id="err-{field}" role="alert">([^<]*)</p>', html)
    assert match and words in match.group(1)
    for name in ("surname", "first_name", "phone", "email"):
        value = {**GOOD, **change}[name]
        if value.strip():
            assert f'value="{value}"' in html, name
    assert len(session.exec(select(Client)).all()) == before


def test_register_shows_every_bad_field_at_once(operator: FlaskClient, session: Session) -> None:
    bad = {"surname": "", "first_name": "Дарья", "phone": "12345", "email": "нет", "channel": ""}
    response = operator.post("/staff/desk/clients", data=bad, headers=hx(operator))
    html = text_of(response)
    assert response.status_code == 422
    for field in ("surname", "phone", "email", "channel", "consent"):
        assert f'id="err-{field}"' in html, field
    assert 'id="err-first_name"' not in html and 'value="Дарья"' in html
    # The keyboard goes to the first bad field.
    assert re.search(r'id="f-surname"[^>]*aria-invalid="true"[^>]*autofocus', html)
    assert session.exec(select(Client).where(Client.first_name == "Дарья")).first() is None


def test_register_same_person_twice_is_refused(operator: FlaskClient, session: Session) -> None:
    assert operator.post("/staff/desk/clients", data=GOOD, headers=hx(operator)).status_code == 200
    response = operator.post("/staff/desk/clients", data=GOOD, headers=hx(operator))
    assert response.status_code == 409
    assert "уже зарегистрирован" in text_of(response)
    assert len(session.exec(select(Client).where(Client.surname == "Белова")).all()) == 1
    # The same family phone with another name is another person.
    other = {**GOOD, "first_name": "Ксения"}
    assert operator.post("/staff/desk/clients", data=other, headers=hx(operator)).status_code == 200


def test_register_without_htmx_redirects(operator: FlaskClient, session: Session) -> None:
    response = operator.post("/staff/desk/clients", data={**GOOD, "csrf_token": csrf_of(operator)})
    assert response.status_code == 303
    saved = session.exec(select(Client).where(Client.surname == "Белова")).one()
    assert response.headers["Location"] == f"/staff/desk?client={saved.id}"


def test_register_with_stale_csrf_is_refused(operator: FlaskClient, session: Session) -> None:
    response = operator.post(
        "/staff/desk/clients", data=GOOD, headers={"HX-Request": "true", "X-CSRF-Token": "stale"}
    )
    assert response.status_code == 400 and "Страница устарела" in text_of(response)
    assert session.exec(select(Client).where(Client.surname == "Белова")).first() is None


# ------------------------------------------------------------------ services and slots


def test_services_and_slots_by_day_and_specialist(operator: FlaskClient, session: Session) -> None:
    service = service_by_code(session, "land-lease")  # ivanova, smirnov
    html = text_of(operator.get("/staff/desk"))
    assert service.name in html and "30 мин" in html
    response = operator.get(f"/staff/desk/step?service={service.id}", headers=hx(operator))
    html = text_of(response)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="desk-step"')
    assert "29 декабря 2026 г., вторник · сегодня" in html
    keys = slot_keys(html)
    times = re.findall(r'<span class="slot-time">([0-9:]+)</span>', html)
    assert times[0] == "11:15" and "13:00" not in times and "13:15" not in times
    assert "Иванова М. П." in html and "Смирнов" in html
    # The New Year holidays are shown as days off, the 30th is the next working day.
    assert 'title="Нерабочий день">31' in html
    assert "day=2026-12-30" in html
    ivanova = staff_by_login(session, "ivanova")
    only = text_of(
        operator.get(
            f"/staff/desk/step?service={service.id}&staff={ivanova.id}", headers=hx(operator)
        )
    )
    assert slot_keys(only) and all(k.startswith(f"{ivanova.id}-") for k in slot_keys(only))
    # All specialists: each time once, with the others free then counted (not a button each).
    assert len(times) == len(set(times)) == len(keys)
    assert "и ещё 1 специалист" in html
    next_day = text_of(
        operator.get(f"/staff/desk/step?service={service.id}&day=2026-12-30", headers=hx(operator))
    )
    assert "30 декабря 2026 г., среда" in next_day
    assert re.findall(r'<span class="slot-time">([0-9:]+)</span>', next_day)[0] == "09:00"


def test_unknown_service(operator: FlaskClient) -> None:
    for value in ("999999", "abc", "99999999999999999999"):
        response = operator.get(f"/staff/desk/step?service={value}", headers=hx(operator))
        html = text_of(response)
        if value == "999999":
            assert response.status_code == 422 and "Такой услуги нет" in html
        assert 'id="desk-step"' in html and "Выберите услугу" in html


def test_pick_slot_shows_confirmation_form(operator: FlaskClient, session: Session) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 10, 30, tzinfo=NSK))
    response = operator.get(
        f"/staff/desk/step?client={person.id}&service={service.id}&slot={key}", headers=hx(operator)
    )
    html = text_of(response)
    assert response.status_code == 200 and "Проверьте запись" in html
    assert "30 декабря 2026 г., среда, 10:30–11:00" in html
    assert "Мария Петровна Иванова" in html and "кабинет 305, 3 этаж" in html
    assert re.search(r'name="submit_key" value="[\w-]{20,}"', html)
    for label in ("За день и за 2 часа", "За день", "За 2 часа", "Без напоминаний"):
        assert label in html


@pytest.mark.parametrize(
    "slot", ["garbage", "1-2-3", "999999-1798000000", "99999999999-1798000000", "1-99999999999"]
)
def test_tampered_slot_id_in_the_address(
    operator: FlaskClient, session: Session, slot: str
) -> None:
    service = service_by_code(session, "land-lease")
    response = operator.get(
        f"/staff/desk/step?service={service.id}&slot={slot}", headers=hx(operator)
    )
    html = text_of(response)
    assert response.status_code == 422
    assert "Такого времени нет в расписании" in html and slot_keys(html)


def test_pick_of_a_slot_gone_meanwhile(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    moment = datetime(2026, 12, 30, 9, 30, tzinfo=NSK)
    make_booking(session, calendar, starts_at=moment.astimezone(UTC), now=NOW.astimezone(UTC))
    taken = key_at(session, "ivanova", moment)
    past = key_at(session, "ivanova", datetime(2026, 12, 29, 9, 0, tzinfo=NSK))
    for key, status, words in ((taken, 409, SLOT_TAKEN), (past, 422, "уже прошло")):
        response = operator.get(
            f"/staff/desk/step?service={service.id}&slot={key}", headers=hx(operator)
        )
        html = text_of(response)
        assert response.status_code == status and words in html
        assert "Проверьте запись" not in html and slot_keys(html)


# ------------------------------------------------------------------ booking


def test_book_a_slot_shows_the_queued_text_code_and_qr(
    operator: FlaskClient, session: Session
) -> None:
    person = make_client(session, channel="email", second_channel="sms")
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2027, 1, 11, 10, 30, tzinfo=NSK))
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key, reminders="day"),
        headers=hx(operator),
    )
    html = text_of(response)
    assert response.status_code == 200, html
    assert html.lstrip().startswith('<div id="desk-step"')
    booking = session.exec(select(Booking).where(Booking.client_id == person.id)).one()
    assert (booking.remind_day_before, booking.remind_two_hours_before) == (True, False)
    assert booking.created_by_staff_id == staff_by_login(session, "operator").id
    assert f'<span class="code" id="booking-code">{booking.code}</span>' in html
    assert 'src="data:image/svg+xml;base64,' in html
    email = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            OutgoingMessage.kind == MessageKind.CONFIRMATION.value,
            OutgoingMessage.channel == "email",
        )
    ).one()
    # The exact queued text is on screen: when, who, room, floor, address, route (§31), cancel (§32).
    assert f'id="confirmation-text">{email.body}</div>' in html.replace("&#34;", '"')
    for words in (
        "11 января 2027 г., понедельник",
        "10:30",
        "Мария Петровна Иванова",
        "кабинет 305, 3 этаж",
        "ул. Кирова, 3",
        "Метро «Октябрьская»",
        "Лифт на 3 этаж",
        "Отменить запись можно по телефону",
    ):
        assert words in html, words
    assert "в очереди на отправку: ivan@example.ru" in html
    assert response.headers["HX-Trigger"] == '{"deskBookingsChanged": true}'
    assert response.headers["HX-Push-Url"] == f"/staff/desk/bookings/{booking.id}"
    # The client's list now has it.
    listing = text_of(
        operator.get(f"/staff/desk/clients/{person.id}/bookings", headers=hx(operator))
    )
    assert booking.code in listing and "Отменить" in listing


def test_double_post_makes_one_booking(operator: FlaskClient, session: Session) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "smirnov", datetime(2026, 12, 30, 15, 0, tzinfo=NSK))
    form = book_form(
        operator, client=person.id, service=service.id, slot=key, submit_key="same-key"
    )
    first = operator.post("/staff/desk/bookings", data=form, headers=hx(operator))
    second = operator.post("/staff/desk/bookings", data=form, headers=hx(operator))
    assert first.status_code == second.status_code == 200
    bookings = session.exec(select(Booking).where(Booking.client_id == person.id)).all()
    assert len(bookings) == 1
    assert bookings[0].code in text_of(second)


def test_race_lost_shows_message_and_refreshed_slots(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    moment = datetime(2026, 12, 30, 11, 0, tzinfo=NSK)
    key = key_at(session, "ivanova", moment)
    # Another operator books the same specialist and time first.
    make_booking(session, calendar, starts_at=moment.astimezone(UTC), now=NOW.astimezone(UTC))
    person = make_client(session, surname="Опоздалов")
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key, day="2026-12-30"),
        headers=hx(operator),
    )
    html = text_of(response)
    assert response.status_code == 409
    assert SLOT_TAKEN in html and html.lstrip().startswith('<div id="desk-step"')
    assert slot_keys(html) and key not in slot_keys(html)
    assert session.exec(select(Booking).where(Booking.client_id == person.id)).first() is None


@pytest.mark.parametrize(
    ("local", "words"),
    [
        (datetime(2026, 12, 29, 10, 0, tzinfo=NSK), "Это время уже прошло"),
        (datetime(2027, 1, 5, 10, 0, tzinfo=NSK), "департамент не работает"),
        (datetime(2026, 12, 30, 13, 15, tzinfo=NSK), "обеденный перерыв"),
        (datetime(2026, 12, 30, 10, 7, tzinfo=NSK), "нет в расписании"),
        (datetime(2027, 6, 1, 10, 0, tzinfo=NSK), "не дальше чем на 30 рабочих дней"),
    ],
)
def test_bad_slot_time_refused_with_slots(
    operator: FlaskClient, session: Session, local: datetime, words: str
) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", local)
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key),
        headers=hx(operator),
    )
    html = text_of(response)
    assert response.status_code == 422 and words in html
    assert slot_keys(html)
    assert session.exec(select(SlotHold)).first() is None


@pytest.mark.parametrize("slot", ["garbage", "999999-1798000000", "1-99999999999"])
def test_tampered_slot_id_on_booking(operator: FlaskClient, session: Session, slot: str) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=slot),
        headers=hx(operator),
    )
    assert response.status_code == 422
    assert "Такого времени нет в расписании" in text_of(response)
    assert session.exec(select(Booking)).first() is None


def test_specialist_of_another_service_is_a_tampered_slot(
    operator: FlaskClient, session: Session
) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "volkova", datetime(2026, 12, 30, 10, 0, tzinfo=NSK))  # cadastre only
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key),
        headers=hx(operator),
    )
    assert response.status_code == 422 and "Такого времени нет" in text_of(response)


@pytest.mark.parametrize("service", ["999999", "", "x"])
def test_unknown_service_on_booking(operator: FlaskClient, session: Session, service: str) -> None:
    person = make_client(session)
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 10, 0, tzinfo=NSK))
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service, slot=key),
        headers=hx(operator),
    )
    html = text_of(response)
    assert response.status_code == 422 and "Такой услуги нет" in html
    assert "Выберите услугу" in html
    assert session.exec(select(Booking)).first() is None


def test_reminder_that_cannot_arrive_in_time(operator: FlaskClient, session: Session) -> None:
    """§30: a visit tomorrow morning cannot get a reminder "one day before"."""
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 10, 0, tzinfo=NSK))
    form = text_of(
        operator.get(
            f"/staff/desk/step?client={person.id}&service={service.id}&slot={key}",
            headers=hx(operator),
        )
    )
    assert re.search(r'value="day" required disabled', form)
    assert re.search(r'value="two_hours" required >', form)
    assert "напоминание за день не успеет прийти" in form
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key, reminders="both"),
        headers=hx(operator),
    )
    assert response.status_code == 422
    assert "напоминание за день не успеет прийти" in text_of(response)
    assert session.exec(select(Booking)).first() is None


def test_missing_reminder_choice_or_client(operator: FlaskClient, session: Session) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 10, 0, tzinfo=NSK))
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key, reminders=""),
        headers=hx(operator),
    )
    assert response.status_code == 422
    assert "Спросите клиента о напоминаниях" in text_of(response)
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, service=service.id, slot=key),
        headers=hx(operator),
    )
    assert response.status_code == 422 and "Выберите клиента" in text_of(response)
    assert session.exec(select(Booking)).first() is None


def test_booking_with_stale_csrf_is_refused(operator: FlaskClient, session: Session) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 10, 0, tzinfo=NSK))
    form = book_form(operator, client=person.id, service=service.id, slot=key)
    form["csrf_token"] = "stale"
    response = operator.post("/staff/desk/bookings", data=form)
    assert response.status_code == 400 and "Страница устарела" in text_of(response)
    assert session.exec(select(Booking)).first() is None


def test_booking_without_htmx_redirects_to_its_page(
    operator: FlaskClient, session: Session
) -> None:
    person = make_client(session)
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 12, 0, tzinfo=NSK))
    response = operator.post(
        "/staff/desk/bookings",
        data=book_form(operator, client=person.id, service=service.id, slot=key),
    )
    booking = session.exec(select(Booking).where(Booking.client_id == person.id)).one()
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/desk/bookings/{booking.id}"
    page = text_of(operator.get(response.headers["Location"]))
    assert "<html" in page and booking.code in page and "Орлова" not in page
    assert "Петров Иван Петрович" in page  # the client's card on the left


# ------------------------------------------------------------------ cancelling


def test_cancel_frees_the_slot_and_queues_the_message(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    moment = datetime(2026, 12, 30, 10, 0, tzinfo=NSK)
    booking = make_booking(
        session, calendar, starts_at=moment.astimezone(UTC), now=NOW.astimezone(UTC)
    )
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", moment)
    step = f"/staff/desk/step?service={service.id}&day=2026-12-30"
    assert key not in slot_keys(text_of(operator.get(step, headers=hx(operator))))

    ask = operator.get(f"/staff/desk/bookings/{booking.id}/cancel", headers=hx(operator))
    html = text_of(ask)
    assert html.lstrip().startswith(f'<li id="booking-{booking.id}"')
    assert 'role="alertdialog"' in html and "Отменить запись на 30 декабря, ср, 10:00?" in html

    response = operator.post(
        f"/staff/desk/bookings/{booking.id}/cancel",
        data={"reason": "Вопрос решён по телефону"},
        headers=hx(operator),
    )
    html = text_of(response)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="desk-bookings"')
    assert "Запись на 30 декабря, ср, 10:00 отменена. Это время снова свободно." in html
    assert "Сообщение об отмене поставлено в очередь: SMS (+7 913" in html
    assert response.headers["HX-Trigger"] == '{"deskSlotsChanged": true}'
    session.expire_all()
    saved = session.get(Booking, booking.id)
    assert saved is not None and saved.status == BookingStatus.CANCELLED
    assert saved.cancel_reason == "Вопрос решён по телефону"
    assert session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            col(OutgoingMessage.kind) == MessageKind.CANCELLATION.value,
        )
    ).first()
    assert key in slot_keys(text_of(operator.get(step, headers=hx(operator))))

    again = operator.post(
        f"/staff/desk/bookings/{booking.id}/cancel", data={}, headers=hx(operator)
    )
    assert again.status_code == 409 and "Эта запись уже отменена." in text_of(again)
    ask = operator.get(f"/staff/desk/bookings/{booking.id}/cancel", headers=hx(operator))
    assert "Эту запись уже нельзя отменить." in text_of(ask)


def test_cancel_with_stale_csrf_is_refused(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(
        session,
        calendar,
        starts_at=datetime(2026, 12, 30, 10, 0, tzinfo=NSK).astimezone(UTC),
        now=NOW.astimezone(UTC),
    )
    response = operator.post(
        f"/staff/desk/bookings/{booking.id}/cancel",
        headers={"HX-Request": "true", "X-CSRF-Token": "stale"},
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Booking, booking.id).status == BookingStatus.BOOKED  # type: ignore[union-attr]


def test_unknown_booking(operator: FlaskClient) -> None:
    assert operator.get("/staff/desk/bookings/999999", headers=hx(operator)).status_code == 404
    response = operator.post("/staff/desk/bookings/999999/cancel", headers=hx(operator))
    assert response.status_code == 404 and "Запись не найдена." in text_of(response)


# ------------------------------------------------------------------ plain GETs of fragments


def test_every_fragment_address_gives_the_whole_page_without_htmx(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    """A fragment's address opened in a new tab or reloaded shows the desk, not a bare piece."""
    moment = datetime(2026, 12, 30, 10, 0, tzinfo=NSK)
    booking = make_booking(
        session, calendar, starts_at=moment.astimezone(UTC), now=NOW.astimezone(UTC)
    )
    service = service_by_code(session, "land-lease")
    key = key_at(session, "ivanova", datetime(2026, 12, 30, 11, 0, tzinfo=NSK))
    for path in (
        f"/staff/desk/step?service={service.id}",
        f"/staff/desk/step?client={booking.client_id}&service={service.id}&slot={key}",
        "/staff/desk/search?q=Петров",
        "/staff/desk/clients/new?q=Петров",
        f"/staff/desk/clients/{booking.client_id}/bookings",
        f"/staff/desk/bookings/{booking.id}",
        f"/staff/desk/bookings/{booking.id}/cancel",
    ):
        response = operator.get(path)
        html = text_of(response)
        assert response.status_code == 200, path
        assert "<html" in html and 'id="desk"' in html and 'id="desk-step"' in html, path
        assert "HX-Push-Url" not in response.headers, path
    cancel_page = text_of(operator.get(f"/staff/desk/bookings/{booking.id}/cancel"))
    assert booking.code in cancel_page  # the client's list with the booking to cancel
    confirm_page = text_of(
        operator.get(f"/staff/desk/step?client={booking.client_id}&service={service.id}&slot={key}")
    )
    assert "Проверьте запись" in confirm_page and "За 2 часа" in confirm_page


def test_cancel_without_htmx_redirects_to_the_client(
    operator: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(
        session,
        calendar,
        starts_at=datetime(2026, 12, 30, 10, 0, tzinfo=NSK).astimezone(UTC),
        now=NOW.astimezone(UTC),
    )
    response = operator.post(
        f"/staff/desk/bookings/{booking.id}/cancel", data={"csrf_token": csrf_of(operator)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/desk?client={booking.client_id}"
    session.expire_all()
    assert session.get(Booking, booking.id).status == BookingStatus.CANCELLED  # type: ignore[union-attr]
