"""Plain factory functions for tests: make_<thing>(session, **overrides)."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    Device,
    DeviceKind,
    Service,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.services.booking import booking_create
from visits.services.clients import client_register
from visits.services.devices import device_create, device_pair

_phones = itertools.count(1000000)


def staff_by_login(session: Session, login: str) -> Staff:
    return session.exec(select(Staff).where(Staff.login == login)).one()


def service_by_code(session: Session, code: str) -> Service:
    return session.exec(select(Service).where(Service.code == code)).one()


def make_client(session: Session, **overrides: Any) -> Client:
    values: dict[str, Any] = {
        "surname": "Петров",
        "first_name": "Иван",
        "patronymic": "Петрович",
        "phone": f"+7913{next(_phones):07d}",
        "email": "ivan@example.ru",
        "channel": "sms",
        "second_channel": None,
        "consent": True,
    }
    values.update(overrides)
    return client_register(session=session, **values)


def next_working_moment(
    calendar: WorkCalendar, *, days_ahead: int = 1, hour: int = 10, minute: int = 30
) -> datetime:
    """A bookable moment on the n-th working day after today (UTC)."""
    day = calendar.today()
    for _ in range(days_ahead):
        day = calendar.next_working_day(day)
    return calendar.at(day, datetime.min.time().replace(hour=hour, minute=minute)).astimezone(
        utcnow().tzinfo
    )


def make_booking(session: Session, calendar: WorkCalendar, **overrides: Any) -> Booking:
    """Book through the real service; `starts_at` may be in the past (now is moved back)."""
    client = overrides.pop("client", None) or make_client(session)
    service = service_by_code(session, overrides.pop("service_code", "land-lease"))
    staff = staff_by_login(session, overrides.pop("staff_login", "ivanova"))
    starts_at = overrides.pop("starts_at", None) or next_working_moment(calendar)
    operator = staff_by_login(session, "operator")
    confirmation = booking_create(
        session=session,
        calendar=calendar,
        client_id=client.id,
        service_id=service.id,
        staff_id=staff.id,
        starts_at=starts_at,
        remind_day_before=overrides.pop("remind_day_before", False),
        remind_two_hours_before=overrides.pop("remind_two_hours_before", False),
        staff=operator,
        now=overrides.pop("now", starts_at - timedelta(days=1)),
        **overrides,
    )
    return confirmation.booking


def make_ticket(session: Session, booking: Booking, **overrides: Any) -> Ticket:
    """Insert a ticket for a booking directly (the kiosk service is tested on its own)."""
    seq = overrides.pop("seq", None) or (len(session.exec(select(Ticket)).all()) + 1)
    service = session.get(Service, booking.service_id)
    assert service is not None
    values: dict[str, Any] = {
        "number": f"{service.letter}-{seq:03d}",
        "letter": service.letter,
        "seq": seq,
        "office_day": booking.starts_at.date(),
        "booking_id": booking.id,
        "client_id": booking.client_id,
        "token": secrets.token_urlsafe(16),
        "status": TicketStatus.WAITING.value,
        "service_id": booking.service_id,
        "staff_id": booking.staff_id,
        "room_id": booking.room_id,
        "booked_at": booking.starts_at,
        "checked_in_at": utcnow(),
    }
    values.update(overrides)
    ticket = Ticket(**values)
    booking.status = BookingStatus.CHECKED_IN.value
    session.add(booking)
    session.add(ticket)
    session.commit()
    return ticket


def make_device(session: Session, kind: DeviceKind, **overrides: Any) -> tuple[Device, str]:
    """Create and pair a device; return it with its token (for the device cookie)."""
    defaults: dict[str, Any] = {"name": f"Тест {kind.value}"}
    if kind == DeviceKind.KIOSK:
        defaults["printer_uri"] = f"virtual://test-{secrets.token_hex(4)}"
    if kind == DeviceKind.DISPLAY:
        defaults["spot_key"] = "f3-lift"
    if kind == DeviceKind.TABLET:
        defaults["room_number"] = "305"
    defaults.update(overrides)
    _device, code = device_create(session=session, kind=kind, **defaults)
    return device_pair(session=session, code=code)
