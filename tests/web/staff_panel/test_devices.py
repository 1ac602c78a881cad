"""The administrator's devices page: create, pair, printer alerts, reprints."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.test import TestResponse as FlaskResponse

from printer import VirtualPrinter, transport_from_uri
from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_booking, make_device
from visits.calendar import WorkCalendar
from visits.models import Device, DeviceKind, PrintJob
from visits.services.checkin import checkin_booking
from visits.services.printing import print_job_run


def test_only_administrators_see_devices(client: FlaskClient) -> None:
    login_as(client, "operator")
    assert client.get("/staff/devices").status_code == 403
    login_as(client, "admin")
    page = client.get("/staff/devices").get_data(as_text=True)
    assert ">Устройства<" in page and "Добавить устройство" in page


def test_create_a_kiosk_shows_a_one_time_code_that_pairs_it(
    client: FlaskClient, session: Session
) -> None:
    login_as(client, "admin")
    response = client.post(
        "/staff/devices",
        data={
            "kind": "kiosk",
            "name": "Терминал у входа",
            "printer_uri": "tcp://192.168.1.50:9100",
            "printer_profile": "TM-T88V",
            "printer_native_qr": "on",
        },
        headers=htmx_headers(client),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "devices-changed" in response.headers["HX-Trigger"]
    code = re.search(r"data-pairing-code>(\d{4}) (\d{4})<", html)
    assert code is not None
    device = session.exec(select(Device).where(Device.name == "Терминал у входа")).one()
    assert device.printer_uri == "tcp://192.168.1.50:9100" and device.printer_profile == "TM-T88V"
    kiosk = client.application.test_client()
    paired = kiosk.post(
        "/device/pair",
        data={"code": code.group(1) + code.group(2), "csrf_token": csrf_of(kiosk)},
    )
    assert paired.status_code == 303 and paired.headers["Location"].endswith("/kiosk/")
    listing = client.get("/staff/devices/list", headers=htmx_headers(client))
    assert "Терминал у входа" in listing.get_data(as_text=True)


def test_bad_device_input_is_explained(client: FlaskClient) -> None:
    login_as(client, "admin")
    response = client.post(
        "/staff/devices", data={"kind": "tablet", "name": "Планшет"}, headers=htmx_headers(client)
    )
    assert response.status_code == 422
    assert "Для планшета укажите кабинет." in response.get_data(as_text=True)


def test_printer_alert_and_reprint_of_todays_ticket(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    device, _ = make_device(session, DeviceKind.KIOSK)
    printer = transport_from_uri(device.printer_uri or "")
    assert isinstance(printer, VirtualPrinter)
    booking = make_booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=10)
    with time_machine.travel(now, tick=False):
        result = checkin_booking(
            session=session, calendar=calendar, booking_id=booking.id, device_id=device.id, now=now
        )
        printer.fail_with("paper_out")
        print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
        login_as(client, "admin")
        page = client.get("/staff/devices").get_data(as_text=True)
        assert "data-printer-alert" in page
        assert "В принтере закончилась бумага" in page and "Ждут печати: 1" in page
        assert "А-001" in page
        printer.fail_with(None)
        response = client.post(
            f"/staff/devices/tickets/{result.info.ticket_id}/reprint", headers=htmx_headers(client)
        )
        assert "Талон напечатан." in response.get_data(as_text=True)
        assert len(printer.jobs) == 1
        assert session.exec(select(PrintJob).where(PrintJob.reprint)).one()
        check = client.post(f"/staff/devices/{device.id}/check", headers=htmx_headers(client))
        assert "принтер на связи" in check.get_data(as_text=True)
        assert "data-printer-alert" not in check.get_data(as_text=True)


def test_every_staff_panel_sees_a_printer_alert(
    client: FlaskClient, session: Session, calendar: WorkCalendar
) -> None:
    device, _ = make_device(session, DeviceKind.KIOSK, name="Терминал в холле")
    login_as(client, "ivanova")  # a specialist
    quiet = client.get("/staff/devices/alert", headers=htmx_headers(client))
    assert 'role="alert"' not in quiet.get_data(as_text=True)
    printer = transport_from_uri(device.printer_uri or "")
    assert isinstance(printer, VirtualPrinter)
    printer.fail_with("cover_open")
    booking = make_booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=10)
    result = checkin_booking(
        session=session, calendar=calendar, booking_id=booking.id, device_id=device.id, now=now
    )
    print_job_run(session=session, calendar=calendar, job_id=result.print_job_id)
    alert = client.get("/staff/devices/alert", headers=htmx_headers(client)).get_data(as_text=True)
    assert "Принтер терминала «Терминал в холле»: Открыта крышка принтера" in alert


def test_the_printer_fields_are_filled_from_the_model(client: FlaskClient) -> None:
    login_as(client, "admin")
    page = client.get("/staff/devices").get_data(as_text=True)
    assert '<option value="80" selected>80 мм</option>' in page  # TM-T20II, the first model
    assert '<option value="48" selected>48</option>' in page
    fields = client.get(
        "/staff/devices/printer-fields?printer_profile=POS-5890", headers=htmx_headers(client)
    ).get_data(as_text=True)
    assert fields.lstrip().startswith('<div id="device-printer-fields">')
    assert '<option value="58" selected>58 мм</option>' in fields
    assert '<option value="32" selected>32</option>' in fields
    assert 'name="printer_native_qr" >' in fields  # no native QR on a POS-5890: not ticked
    assert "QR-код уйдёт картинкой" in fields
    assert 'name="printer_confirms" checked' in fields
    dumb = client.get(
        "/staff/devices/printer-fields?printer_profile=TM-T88V&printer_uri=file:///dev/usb/lp0",
        headers=htmx_headers(client),
    ).get_data(as_text=True)
    assert 'data-printer-confirms="no"' in dumb and "«отправлен, не подтверждён»" in dumb


def _create_kiosk(client: FlaskClient, **fields: str) -> FlaskResponse:
    data = {"kind": "kiosk", "name": "Терминал 58", **fields}
    return client.post("/staff/devices", data=data, headers=htmx_headers(client))


def test_a_kiosk_gets_its_paper_width_and_columns(client: FlaskClient, session: Session) -> None:
    login_as(client, "admin")
    response = _create_kiosk(
        client,
        printer_uri="tcp://192.168.1.51:9100",
        printer_profile="POS-5890",
        printer_paper_mm="58",
        printer_width_chars="32",
        printer_confirms="on",
    )
    assert response.status_code == 200
    device = session.exec(select(Device).where(Device.name == "Терминал 58")).one()
    assert (device.printer_paper_mm, device.printer_width_chars) == (58, 32)
    assert not device.printer_native_qr and device.printer_confirms
    # 80 mm at 42 columns instead of the TM-T20II's 48: the administrator's choice stands.
    _create_kiosk(
        client,
        name="Терминал 80",
        printer_profile="TM-T20II",
        printer_paper_mm="80",
        printer_width_chars="42",
        printer_native_qr="on",
        printer_confirms="on",
    )
    wide = session.exec(select(Device).where(Device.name == "Терминал 80")).one()
    assert (wide.printer_paper_mm, wide.printer_width_chars, wide.printer_native_qr) == (
        80,
        42,
        True,
    )


def test_more_columns_than_the_paper_holds_is_refused(client: FlaskClient) -> None:
    login_as(client, "admin")
    response = _create_kiosk(
        client, printer_profile="POS-5890", printer_paper_mm="58", printer_width_chars="48"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "На бумаге 58 мм принтер POS-5890 печатает не больше 32 знаков в строке." in html
    assert '<option value="48" selected>48</option>' in html  # the choice is kept to correct


def test_a_file_printer_cannot_confirm_and_its_last_ticket_is_shown(
    client: FlaskClient, session: Session, calendar: WorkCalendar, tmp_path: Path
) -> None:
    target = tmp_path / "lp0"
    target.touch()
    login_as(client, "admin")
    _create_kiosk(
        client, printer_uri=f"file://{target}", printer_profile="TM-T88V", printer_confirms="on"
    )
    device = session.exec(select(Device).where(Device.name == "Терминал 58")).one()
    assert not device.printer_confirms  # a file has no way back, whatever the box says
    assert client.get(f"/staff/devices/{device.id}/last-ticket.png").status_code == 404
    booking = make_booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=10)
    result = checkin_booking(
        session=session, calendar=calendar, booking_id=booking.id, device_id=device.id, now=now
    )
    assert (
        print_job_run(session=session, calendar=calendar, job_id=result.print_job_id).status
        == "sent"
    )
    listing = client.get("/staff/devices/list", headers=htmx_headers(client)).get_data(as_text=True)
    assert "data-unconfirmed" in listing and "Последний талон на принтере" in listing
    png = client.get(f"/staff/devices/{device.id}/last-ticket.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")


def test_paper_wider_than_the_model_takes_is_refused(client: FlaskClient) -> None:
    login_as(client, "admin")
    response = _create_kiosk(
        client, printer_profile="POS-5890", printer_paper_mm="80", printer_width_chars="32"
    )
    assert response.status_code == 422
    assert "Принтер POS-5890 печатает на бумаге шириной 58 мм." in response.get_data(as_text=True)
