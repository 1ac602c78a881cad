"""§29 and §3 at the kiosk: a walk-in chooses among today's nearest free times (and «позже»),
and chooses how to hear about the visit: a channel and an optional second one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_device, next_working_moment, service_by_code
from visits.calendar import WorkCalendar
from visits.errors import Conflict, InvalidInput
from visits.models import Booking, Client, Device, DeviceKind
from visits.phones import NO_SMS_TO_LANDLINE
from visits.services.checkin import (
    CheckinRefused,
    checkin_late_rebook,
    ticket_checkin,
    walkin_book,
    walkin_times,
)


@pytest.fixture
def kiosk(session: Session) -> Device:
    device, _token = make_device(session, DeviceKind.KIOSK)
    return device


def _book(session: Session, calendar: WorkCalendar, kiosk: Device, **kw: str) -> Booking:
    now = next_working_moment(calendar, hour=10, minute=2)
    values: dict[str, object] = {
        "service_id": service_by_code(session, "consultation").id or 0,
        "phone": "+79135554433",
        "surname": "Сергеева",
        "first_name": "Ольга",
        "patronymic": "Ивановна",
        "consent": True,
        "device_id": kiosk.id or 0,
        "submit_key": "",
        "now": now,
    }
    values.update(kw)
    result = walkin_book(session=session, calendar=calendar, **values)  # type: ignore[arg-type]
    booking = session.get(Booking, result.booking_id)
    assert booking is not None
    return booking


def test_the_nearest_times_and_later_ones(session: Session, calendar: WorkCalendar) -> None:
    now = next_working_moment(calendar, hour=10, minute=2)
    service = service_by_code(session, "consultation")
    first = walkin_times(session, calendar, service_id=service.id or 0, now=now)
    assert [t.time for t in first] == ["10:15", "10:30", "10:45", "11:00"]
    later = walkin_times(
        session, calendar, service_id=service.id or 0, after=first[-1].starts_at, now=now
    )
    assert later and later[0].starts_at > first[-1].starts_at
    assert len({t.time for t in first + later}) == len(first + later)  # each time once


def test_the_chosen_time_is_booked(session: Session, calendar: WorkCalendar, kiosk: Device) -> None:
    now = next_working_moment(calendar, hour=10, minute=2)
    service = service_by_code(session, "consultation")
    chosen = walkin_times(session, calendar, service_id=service.id or 0, now=now)[2]
    booking = _book(session, calendar, kiosk, slot=chosen.key)
    assert booking.starts_at == chosen.starts_at and booking.walk_in
    # The same time chosen by a second visitor is refused with a clear message.
    with pytest.raises(Conflict, match="только что заняли"):
        _book(
            session,
            calendar,
            kiosk,
            slot=chosen.key,
            phone="+79135554434",
            first_name="Нина",
            surname="Орлова",
        )


def test_a_time_not_offered_is_refused(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    now = next_working_moment(calendar, hour=10, minute=2)
    service = service_by_code(session, "consultation")
    past = walkin_times(session, calendar, service_id=service.id or 0, now=now)[0]
    key = f"{past.key.split('-')[0]}-{int((now - timedelta(hours=1)).timestamp())}"
    with pytest.raises(Conflict):
        _book(session, calendar, kiosk, slot=key)


def test_the_channel_and_the_second_one_are_the_visitors(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _book(session, calendar, kiosk, channel="phone", second_channel="sms")
    client = session.get(Client, booking.client_id)
    assert client is not None and client.channels == ["phone", "sms"]


def test_sms_to_a_city_number_is_refused_at_the_kiosk(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _book(session, calendar, kiosk, phone="(383) 238-60-02", channel="sms")
    assert refused.value.message == NO_SMS_TO_LANDLINE
    booking = _book(session, calendar, kiosk, phone="(383) 238-60-02", channel="phone")
    client = session.get(Client, booking.client_id)
    assert client is not None and client.channels == ["phone"]


def test_a_late_visitor_chooses_among_todays_free_times(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booked = next_working_moment(calendar, hour=9, minute=0)
    booking = make_booking(
        session, calendar, starts_at=booked, service_code="consultation", staff_login="popov"
    )
    now = booked + timedelta(minutes=40)
    with pytest.raises(CheckinRefused) as refused:
        ticket_checkin(
            session=session, calendar=calendar, code=booking.code, device_id=kiosk.id or 0, now=now
        )
    assert refused.value.reason == "too_late" and refused.value.service_id == booking.service_id
    times = walkin_times(session, calendar, service_id=booking.service_id, now=now)
    assert len(times) == 4
    result = checkin_late_rebook(
        session=session,
        calendar=calendar,
        code=booking.code,
        device_id=kiosk.id or 0,
        submit_key="late-1",
        now=now,
        slot=times[3].key,
    )
    rebooked = session.get(Booking, result.booking_id)
    assert rebooked is not None and rebooked.starts_at == times[3].starts_at
