"""The lobby kiosk through the Flask client: screens, check-in cases, printing, the ticket page."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_client, make_device
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import Booking, DeviceKind, Ticket, TicketStatus
from visits.services.checkin import PHONE_LOOKUP_LIMIT


def _kiosk(client: FlaskClient, session: Session, **device_args: object) -> int:
    device, token = make_device(session, DeviceKind.KIOSK, **device_args)
    client.set_cookie("priyom_device", token)
    return device.id or 0


@pytest.fixture
def kiosk(client: FlaskClient, session: Session) -> int:
    return _kiosk(client, session)


@pytest.fixture
def booking(session: Session, calendar: WorkCalendar) -> Booking:
    return make_booking(session, calendar)


@pytest.fixture
def at_booking(booking: Booking) -> Iterator[datetime]:
    """The clock 20 minutes before the booking (a working day, office hours)."""
    moment = booking.starts_at - timedelta(minutes=20)
    with time_machine.travel(moment, tick=False):
        yield moment


def _post(client: FlaskClient, url: str, **data: str) -> str:
    response = client.post(url, data=data, headers=htmx_headers(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_kiosk_pages_need_a_kiosk_token(client: FlaskClient, session: Session) -> None:
    response = client.get("/kiosk/")
    assert response.status_code == 302 and "/device/pair" in response.headers["Location"]
    assert client.post("/kiosk/checkin/code", headers=htmx_headers(client)).status_code == 401
    login_as(client, "admin")  # a staff login opens no kiosk page
    assert client.get("/kiosk/").status_code == 302


def test_a_kiosk_token_opens_nothing_in_the_staff_panel(client: FlaskClient, kiosk: int) -> None:
    response = client.get("/staff/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    assert client.get("/staff/devices").status_code in (302, 303)


def test_start_screen_offers_the_ways_in(
    client: FlaskClient, kiosk: int, at_booking: datetime
) -> None:
    page = client.get("/kiosk/").get_data(as_text=True)
    assert "У меня есть запись на приём" in page
    assert "Мой вопрос не к вам?" in page
    assert "Записаться без очереди" in page  # free slots exist today
    assert "238-60-02" in page and "238-60-62" in page
    assert 'id="scan"' in page and 'inputmode="none"' in page  # the scanner's field
    assert "kiosk/kiosk.js" in page


def test_check_in_by_code_shows_the_ticket_and_prints_it(
    client: FlaskClient, session: Session, kiosk: int, booking: Booking, at_booking: datetime
) -> None:
    html = _post(client, "/kiosk/checkin/code", code=f"PRIYOM:{booking.code}")
    assert html.lstrip().startswith('<section id="kiosk-screen"')  # a fragment, not a page
    assert "Здравствуйте, Иван Петрович!" in html
    assert "Ваш приём в 10:30. Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж." in html
    assert "А-001" in html and "Лифт на 3 этаж" in html
    assert 'data-return-ms="20000"' in html
    assert "Петров " not in html  # no surname on the lobby screen
    print_url = re.search(r'hx-post="(/kiosk/print/\d+)"', html).group(1)
    printed = _post(client, print_url)
    assert 'data-print="done"' in printed and "Возьмите талон" in printed
    again = _post(client, print_url)  # the same press: nothing is printed twice
    assert 'data-print="done"' in again


def test_printer_off_shows_the_ticket_on_screen_with_a_qr(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _kiosk(client, session, printer_uri=f"tcp://127.0.0.1:{port}")
    html = _post(client, "/kiosk/checkin/code", code=booking.code)
    print_url = re.search(r'hx-post="(/kiosk/print/\d+)"', html).group(1)
    failed = _post(client, print_url)
    assert "Талон не напечатан: принтер отклонил подключение." in failed
    assert "Возьмите талон с экрана: сфотографируйте номер и QR-код." in failed
    assert "<svg" in failed and 'data-print="failed"' in failed
    assert session.exec(select(Ticket)).one().number == "А-001"  # the ticket stays issued


def test_too_early_unknown_and_cancelled_have_their_own_screens(
    client: FlaskClient, session: Session, kiosk: int, booking: Booking
) -> None:
    with time_machine.travel(booking.starts_at - timedelta(minutes=90), tick=False):
        html = _post(client, "/kiosk/checkin/code", code=booking.code)
    assert 'data-reason="too_early"' in html and "с 09:30" in html
    html = _post(client, "/kiosk/checkin/code", code="ZZZZZZ")
    assert "Записи с кодом ZZZZZZ нет" in html and "Найти по телефону" in html
    html = _post(client, "/kiosk/checkin/code", code="12")
    assert "Код записи — 6 знаков" in html


def test_too_late_offers_a_slot_today(
    client: FlaskClient, session: Session, kiosk: int, booking: Booking
) -> None:
    with time_machine.travel(booking.starts_at + timedelta(minutes=20), tick=False):
        html = _post(client, "/kiosk/checkin/code", code=booking.code)
        assert 'data-reason="too_late"' in html
        assert "Обратитесь к администратору приёма" in html
        key = re.search(r'name="submit_key" value="([^"]+)"', html).group(1)
        # §29: a choice among today's nearest free times; the visitor takes the second one.
        slots = re.findall(r'name="slot" value="([^"]+)"', html)
        times = re.findall(r'<span class="kiosk-choice-time">(\d\d:\d\d)</span>', html)
        assert len(slots) == len(times) >= 2
        ticket = _post(
            client, "/kiosk/checkin/late", code=booking.code, submit_key=key, slot=slots[1]
        )
    assert "Ваш приём в " + times[1] in ticket and "А-001" in ticket


def test_check_in_by_phone_one_or_several_bookings(
    client: FlaskClient, session: Session, calendar: WorkCalendar, kiosk: int
) -> None:
    person = make_client(session, phone="+79137654321")
    first = make_booking(session, calendar, client=person)
    with time_machine.travel(first.starts_at - timedelta(minutes=10), tick=False):
        html = _post(client, "/kiosk/checkin/phone", phone="9137654321")
        assert "А-001" in html
        make_booking(
            session,
            calendar,
            client=person,
            starts_at=first.starts_at + timedelta(minutes=30),
            staff_login="smirnov",
        )
        html = _post(client, "/kiosk/checkin/phone", phone="9137654321")
        assert 'data-screen="choose"' in html
        assert "Иван Петрович" in html and "Петров " not in html
        assert "+79137654321" not in html.replace('value="9137654321"', "")
        booking_id = re.findall(r'name="booking_id" value="(\d+)"', html)[1]
        html = _post(client, "/kiosk/checkin/choose", phone="9137654321", booking_id=booking_id)
        assert "А-002" in html
        html = _post(client, "/kiosk/checkin/choose", phone="9130000000", booking_id=booking_id)
        assert "Запись не найдена" in html


def test_phone_lookups_stop_after_the_limit(
    client: FlaskClient, kiosk: int, at_booking: datetime
) -> None:
    for _ in range(PHONE_LOOKUP_LIMIT):
        assert "нет записи на сегодня" in _post(client, "/kiosk/checkin/phone", phone="9130001122")
    html = _post(client, "/kiosk/checkin/phone", phone="9130001122")
    assert 'data-reason="rate_limited"' in html and "Слишком много поисков" in html


def test_walk_in_books_and_checks_in(
    client: FlaskClient, session: Session, kiosk: int, at_booking: datetime
) -> None:
    html = client.get("/kiosk/walkin", headers=htmx_headers(client)).get_data(as_text=True)
    link = re.search(r'hx-get="(/kiosk/walkin/\d+)"', html).group(1)
    form = client.get(link, headers=htmx_headers(client)).get_data(as_text=True)
    assert "Шаг 1 из 5. Выберите время сегодня" in form and 'data-key="Й"' in form
    assert 'name="slot"' in form and 'name="channel"' in form and 'name="second_channel"' in form
    # §29 «Позже»: the next few free times, after the last one shown.
    shown = re.findall(r'<span class="kiosk-choice-time">(\d\d:\d\d)</span>', form)
    later_url = re.search(r'hx-get="(/kiosk/walkin/\d+/later\?after=\d+)"', form)
    if later_url:
        later = client.get(later_url.group(1), headers=htmx_headers(client)).get_data(as_text=True)
        assert later.lstrip().startswith('<div id="walkin-times"')
        later_times = re.findall(r'<span class="kiosk-choice-time">(\d\d:\d\d)</span>', later)
        assert later_times and min(later_times) > max(shown)
    service_id = re.search(r'name="service_id" value="(\d+)"', form).group(1)
    key = re.search(r'name="submit_key" value="([^"]+)"', form).group(1)
    data = {
        "service_id": service_id,
        "submit_key": key,
        "phone": "9135550011",
        "surname": "Смирнова",
        "first_name": "Нина",
        "patronymic": "Павловна",
    }
    refused = _post(client, "/kiosk/walkin", **data)
    assert "согласия" in refused
    html = _post(client, "/kiosk/walkin", consent="yes", **data)
    assert "Здравствуйте, Нина Павловна!" in html and 'data-screen="ticket"' in html


def test_directory_lists_other_bodies(client: FlaskClient, kiosk: int) -> None:
    html = client.get("/kiosk/directory", headers=htmx_headers(client)).get_data(as_text=True)
    assert "Управление Росреестра по Новосибирской области" in html  # §26
    assert "8-800-100-34-34" in html


def test_virtual_printer_page_shows_printed_tickets(
    client: FlaskClient, kiosk: int, booking: Booking, at_booking: datetime
) -> None:
    assert "Принтер пока ничего не печатал" in client.get("/kiosk/printer").get_data(as_text=True)
    html = _post(client, "/kiosk/checkin/code", code=booking.code)
    _post(client, re.search(r'hx-post="(/kiosk/print/\d+)"', html).group(1))
    page = client.get("/kiosk/printer").get_data(as_text=True)
    assert page.count('src="data:image/png;base64,') == 1


def test_ticket_page_is_public_by_token_and_shows_no_surname(
    client: FlaskClient, session: Session, kiosk: int, booking: Booking, at_booking: datetime
) -> None:
    _post(client, "/kiosk/checkin/code", code=booking.code)
    ticket = session.exec(select(Ticket)).one()
    visitor = client.application.test_client()  # another browser: no device, no login
    page = visitor.get(f"/t/{ticket.token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "А-001" in html and "Ожидайте вызова" in html and "Петров " not in html
    assert "кабинет 305" in html.lower()
    ticket.status = TicketStatus.CALLED
    session.add(ticket)
    session.commit()
    fragment = visitor.get(f"/t/{ticket.token}", headers={"HX-Request": "true"})
    assert "Вас ждёт Мария Петровна Иванова: кабинет 305, 3 этаж." in fragment.get_data(
        as_text=True
    )
    assert visitor.get("/t/not-a-token").status_code == 404


def test_ticket_page_offers_the_rating_after_the_visit(
    client: FlaskClient, session: Session, kiosk: int, booking: Booking, at_booking: datetime
) -> None:
    _post(client, "/kiosk/checkin/code", code=booking.code)
    ticket = session.exec(select(Ticket)).one()
    ticket.status = TicketStatus.DONE
    session.add(ticket)
    session.commit()
    html = client.get(f"/t/{ticket.token}").get_data(as_text=True)
    assert "Приём завершён. Спасибо за визит." in html  # §17, §36
    assert f'hx-get="/t/{ticket.token}/rating"' in html
    assert "every 20s" not in html  # a finished visit stops refreshing
    assert client.get(f"/t/{ticket.token}/rating").status_code == 200


def test_demo_virtual_printer_can_be_switched_off_and_on(
    session: Session,
    session_factory: Callable[[], Session],
    office_config: OfficeConfig,
    kiosk: int,
) -> None:
    from visits.web import create_app

    demo_app = create_app(
        config=office_config,
        session_factory=session_factory,
        demo=True,
        settings={"TESTING": True},
    )
    demo = demo_app.test_client()
    _device, token = make_device(session, DeviceKind.KIOSK)
    demo.set_cookie("priyom_device", token)
    off = demo.post("/kiosk/printer/power", data={"state": "off"}, headers=htmx_headers(demo))
    assert off.status_code == 204 and off.headers["HX-Redirect"] == "/kiosk/printer"
    page = demo.get("/kiosk/printer").get_data(as_text=True)
    assert "Принтер выключен" in page and "Включить принтер" in page
    demo.post("/kiosk/printer/power", data={"state": "on"}, headers=htmx_headers(demo))
    assert "Выключить принтер" in demo.get("/kiosk/printer").get_data(as_text=True)


def test_printer_switch_is_demo_only(client: FlaskClient, kiosk: int) -> None:
    response = client.post(
        "/kiosk/printer/power", data={"state": "off"}, headers=htmx_headers(client)
    )
    assert response.status_code == 404
