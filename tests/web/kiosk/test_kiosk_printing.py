"""The kiosk's print result against a printer emulator: what the visitor is told and shown."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import htmx_headers
from tests.emulator.escpos_printer import EmulatedPrinter
from tests.factories import make_booking, make_device
from visits.calendar import WorkCalendar
from visits.models import Booking, DeviceKind, PrintJob
from visits.services.checkin import checkin_booking


def _kiosk(client: FlaskClient, session: Session, printer_uri: str, **extra: object) -> int:
    device, token = make_device(session, DeviceKind.KIOSK, printer_uri=printer_uri, **extra)
    client.set_cookie("priyom_device", token)
    return device.id or 0


def _post(client: FlaskClient, url: str, **data: str) -> str:
    response = client.post(url, data=data, headers=htmx_headers(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _check_in_and_print(client: FlaskClient, booking: Booking) -> str:
    html = _post(client, "/kiosk/checkin/code", code=booking.code)
    match = re.search(r'hx-post="(/kiosk/print/\d+)"', html)
    assert match is not None
    return _post(client, match.group(1))


@pytest.fixture
def booking(session: Session, calendar: WorkCalendar) -> Booking:
    return make_booking(session, calendar)


@pytest.fixture
def at_booking(booking: Booking) -> Iterator[datetime]:
    moment = booking.starts_at - timedelta(minutes=20)
    with time_machine.travel(moment, tick=False):
        yield moment


def test_a_confirmed_ticket_says_take_it_from_the_printer(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime
) -> None:
    with EmulatedPrinter() as printer:
        _kiosk(client, session, printer.uri)
        html = _check_in_and_print(client, booking)
    assert 'data-print="done"' in html and "Возьмите талон из принтера" in html
    assert len(printer.printed) == 1


def test_the_plug_pulled_mid_ticket_puts_the_ticket_on_screen(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime
) -> None:
    with EmulatedPrinter() as printer:
        _kiosk(client, session, printer.uri)
        printer.pull_plug_after(200)
        html = _check_in_and_print(client, booking)
    assert 'data-print="failed"' in html and 'role="alert"' in html
    assert "Талон не напечатан:" in html and "связь" in html
    assert "Возьмите талон с экрана" in html and "покажите этот экран администратору" in html
    assert "<svg" in html  # the ticket page's QR code
    assert printer.printed == []


def test_paper_out_puts_the_ticket_on_screen_with_the_reason(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime
) -> None:
    with EmulatedPrinter() as printer:
        printer.paper = "out"
        _kiosk(client, session, printer.uri)
        html = _check_in_and_print(client, booking)
    assert "Талон не напечатан: в принтере закончилась бумага." in html and "<svg" in html


def test_a_printer_that_cannot_confirm_says_so_and_keeps_the_qr_on_screen(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime, tmp_path: Path
) -> None:
    target = tmp_path / "lp0"
    target.touch()
    _kiosk(client, session, f"file://{target}")
    html = _check_in_and_print(client, booking)
    assert 'data-print="sent"' in html and "Если талон не вышел" in html and "<svg" in html
    assert target.read_bytes()


def test_a_second_kiosk_gets_the_ticket_on_screen_not_a_404(
    client: FlaskClient,
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    at_booking: datetime,
) -> None:
    # The same booking checked in at the entrance kiosk seconds ago.
    first, _token = make_device(session, DeviceKind.KIOSK, name="Терминал у входа")
    checkin_booking(session=session, calendar=calendar, booking_id=booking.id, device_id=first.id)
    _kiosk(client, session, "virtual://second-kiosk")
    html = _check_in_and_print(client, booking)
    assert 'data-print="elsewhere"' in html
    assert "Талон по этой записи уже выдан на терминале «Терминал у входа»." in html
    assert "<svg" in html
    job = session.exec(select(PrintJob)).one()
    assert job.device_id == first.id and job.status == "pending"


def test_the_printer_page_shows_the_last_ticket_of_a_real_printer(
    client: FlaskClient, session: Session, booking: Booking, at_booking: datetime
) -> None:
    with EmulatedPrinter() as printer:
        _kiosk(client, session, printer.uri)
        page = client.get("/kiosk/printer").get_data(as_text=True)
        assert "Принтер терминала" in page and "Принтер пока ничего не печатал" in page
        _check_in_and_print(client, booking)
        page = client.get("/kiosk/printer").get_data(as_text=True)
    assert page.count('src="data:image/png;base64,') == 1
