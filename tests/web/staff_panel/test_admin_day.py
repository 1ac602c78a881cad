"""The administrator's day view and the staff event stream."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_device, make_ticket, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.models import Device, DeviceKind
from visits.push import push_emit
from visits.queries.admin_day import admin_day
from visits.services.queue import ticket_call, ticket_call_next


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def test_day_view_rooms_queues_waits_devices_and_late_starts(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    day = open_calendar.today()
    first = make_booking(session, open_calendar, starts_at=open_calendar.at(day, time(9, 0)))
    make_ticket(session, first, checked_in_at=first.starts_at - timedelta(minutes=10))
    second = make_booking(
        session, open_calendar, starts_at=open_calendar.at(day, time(9, 0)), staff_login="smirnov"
    )
    waiting = make_ticket(session, second, checked_in_at=second.starts_at - timedelta(minutes=4))
    ivanova = staff_by_login(session, "ivanova")
    # Called 17 minutes late: a late start of the specialist (§34.4).
    ticket_call_next(
        session=session,
        calendar=open_calendar,
        staff=ivanova,
        now=first.starts_at + timedelta(minutes=17),
    )
    kiosk, _token = make_device(session, DeviceKind.KIOSK, name="Терминал у входа")
    device = session.get(Device, kiosk.id)
    assert device is not None
    device.printer_error = "Нет бумаги"
    device.last_seen_at = utcnow()
    session.add(device)
    session.commit()

    data = admin_day(session, open_calendar, now=first.starts_at + timedelta(minutes=20))
    room_305 = next(r for r in data.rooms if r.room.number == "305")
    assert room_305.state == "вызван" and room_305.client_name == "Иван Петрович"
    assert data.average_wait_minutes == 27  # checked in 10 min early, called 17 min late
    assert [(s.ticket_number, s.minutes) for s in data.late_starts] == [
        (room_305.ticket.number, 17)  # type: ignore[union-attr]
    ]
    lease = next(s for s in data.services if s.service.code == "land-lease")
    assert lease.waiting == 1 and lease.longest_wait_minutes == 24
    assert data.devices[0].printer_error == "Нет бумаги"

    login_as(client, "admin")
    page = client.get("/staff/admin/day").get_data(as_text=True)
    assert "День офиса" in page and 'sse-connect="/staff/events?after=' in page
    assert "Принтер: Нет бумаги" in page and "Терминал у входа" in page
    assert waiting.number in page or "Ждут" in page
    fragment = client.get("/staff/admin/day", headers=htmx_headers(client)).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="admin-day"')

    specialist = client.application.test_client()
    login_as(specialist, "ivanova")
    assert specialist.get("/staff/admin/day").status_code == 403


def test_staff_stream_carries_the_own_topic_only(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    booking = make_booking(
        session, open_calendar, starts_at=open_calendar.at(open_calendar.today(), time(9, 0))
    )
    ticket = make_ticket(session, booking)
    push_emit(session, "ticket.checked_in", [f"staff:{smirnov.id}"], ticket_id=999)
    session.commit()
    ticket_call(session=session, calendar=open_calendar, staff=ivanova, ticket_id=ticket.id)
    login_as(client, "ivanova")
    response = client.get("/staff/events?after=0", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    text = ""
    while "event: ticket.called" not in text:
        chunk = next(chunks)
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
    response.close()
    assert "retry: 2000" in text
    assert f'"ticket_id": {ticket.id}' in text
    assert "999" not in text  # another specialist's event is not in this stream
