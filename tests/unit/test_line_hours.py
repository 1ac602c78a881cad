"""§19, §28, §32: wherever a message gives the lines' numbers, it gives their working hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tests.factories import make_client, service_by_code, staff_by_login
from visits.config import OfficeConfig
from visits.models import Room
from visits.notify import templates

TZ = ZoneInfo("Asia/Novosibirsk")


def test_every_message_with_a_number_tells_the_hours(
    session: Session, office_config: OfficeConfig
) -> None:
    client = make_client(session)
    staff = staff_by_login(session, "ivanova")
    room = session.get(Room, staff.room_id)
    assert room is not None
    service = service_by_code(session, "land-lease")
    start = datetime(2026, 12, 17, 10, 30, tzinfo=TZ)
    texts = [
        templates.booking_confirmation(
            config=office_config,
            client=client,
            service=service,
            staff=staff,
            room=room,
            local_start=start,
            code="ABC234",
        ),
        templates.booking_cancellation(
            config=office_config, client=client, service=service, local_start=start
        ),
        templates.visit_final(
            config=office_config,
            client=client,
            staff=staff,
            ticket_number="А-001",
            survey_url="https://priem.example/r/abc",
        ),
        templates.booking_reminder(
            config=office_config,
            client=client,
            staff=staff,
            room=room,
            local_start=start,
            local_send=datetime(2026, 12, 16, 10, 30, tzinfo=TZ),
            code="ABC234",
        ),
        templates.history_export_ready(config=office_config, client=client, pickup="Кабинет 101."),
    ]
    hours = office_config.line_hours()
    assert hours.startswith("пн–чт 09:00–18:00")
    checked = 0
    for text in texts:
        for part in (text.body, text.sms):
            if any(number in part for number in office_config.office.phones):
                assert hours in part, part
                checked += 1
    assert checked >= 7
    for text in texts:
        if text.sms:
            assert len(text.sms) <= office_config.messaging.sms_max_length


def test_the_kiosk_refusals_and_the_printed_ticket_tell_the_hours(
    office_config: OfficeConfig,
) -> None:
    from datetime import date

    from visits.calendar import WorkCalendar
    from visits.queries.ticket_page import TicketInfo
    from visits.services.checkin.common import office_phones
    from visits.services.printing import ticket_layout

    hours = office_config.line_hours()
    assert office_phones(WorkCalendar(office_config)).endswith(f"({hours})")
    info = TicketInfo(
        ticket_id=1,
        number="А-001",
        token="t",
        status="waiting",
        office_day=date(2026, 12, 17),
        address_name="Иван Петрович",
        booked_at_local=datetime(2026, 12, 17, 10, 30, tzinfo=TZ),
        service_name="Аренда земельного участка",
        specialist_name="Мария Петровна Иванова",
        room_number="305",
        floor=3,
        room_place="кабинет 305, 3 этаж",
        route="Лифт на 3 этаж",
        late_arrival=False,
        late_minutes=0,
        checked_in_local=datetime(2026, 12, 17, 10, 20, tzinfo=TZ),
        rated=False,
    )
    assert hours in ticket_layout(info, office_config).phones
