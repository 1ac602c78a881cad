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


def walk_visit(session: Session, calendar: WorkCalendar) -> tuple[Client, Ticket]:
    """A full visit in the history (§4): booking -> check-in -> call -> transfer -> meeting
    room -> finish -> rating. Registration and booking go through the real services; the
    later steps write the entries their services write (see tests/unit/test_history_walk.py).
    """
    from visits.db import write_transaction
    from visits.models import HistoryKind as K
    from visits.services.history import history_record

    client = make_client(session, surname="Сидоров", first_name="Пётр", patronymic="Ильич")
    booking = make_booking(session, calendar, client=client)
    ticket = make_ticket(session, booking)
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    n = ticket.number
    steps: list[tuple[K, Staff | None, str, str | None]] = [
        (K.MESSAGE_SENT, None, "Подтверждение записи отправлено (SMS)", "sms"),
        (K.CHECKED_IN, None, f"Регистрация в терминале в холле, выдан талон {n}", None),
        (K.TICKET_PRINTED, None, f"Талон {n} напечатан в терминале в холле", None),
        (K.CALLED, ivanova, f"Талон {n} вызван: кабинет 305, 3 этаж", None),
        (K.SERVICE_STARTED, ivanova, f"Начало приёма по талону {n}", None),
        (
            K.TRANSFERRED,
            ivanova,
            f"Талон {n} передан: от {ivanova.full_name} к {smirnov.full_name}, кабинет 301. "
            "Причина: вопрос о выкупе участка",
            None,
        ),
        (K.MEETING_ROOM, smirnov, "Разговор перенесён в переговорную 310, 3 этаж", None),
        (K.COLLEAGUE_INVITED, smirnov, f"Приглашена {ivanova.full_name}", None),
        (K.SERVED, smirnov, f"Приём по талону {n} завершён: {smirnov.full_name}, 25 минут", None),
        (K.RATED, None, f"Оценка визита по талону {n}: 5 из 5", None),
    ]
    with write_transaction(session):
        for kind, staff, summary, channel in steps:
            history_record(
                session,
                client_id=client.id or 0,
                kind=kind,
                staff=staff,
                actor=None if staff else "Терминал в холле",
                channel=channel,
                summary=summary,
                booking_id=booking.id,
                ticket_id=ticket.id,
            )
    return client, ticket


def make_call_event(
    session: Session, ticket: Ticket, *, kind: str = "ticket.called", room_number: str | None = None
) -> Any:
    """Send a ticket to a room as the staff terminal does, with its push event to displays."""
    from visits.db import write_transaction
    from visits.models import Room
    from visits.push import push_emit

    with write_transaction(session):
        if room_number is not None:
            room = session.exec(select(Room).where(Room.number == room_number)).one()
            ticket.room_id = room.id or 0
        ticket.status = TicketStatus.CALLED.value
        ticket.called_at = ticket.called_at or utcnow()
        session.add(ticket)
        event = push_emit(
            session,
            kind,
            ["displays", f"room:{ticket.room_id}"],
            ticket_id=ticket.id,
            room_id=ticket.room_id,
        )
    return event


def make_finished_ticket(
    session: Session,
    calendar: WorkCalendar,
    *,
    days_ago: int = 0,
    slot: int = 0,
    staff_login: str = "ivanova",
    service_code: str = "land-lease",
    wait_minutes: float = 10,
    service_minutes: float = 20,
    late_start_minutes: int | None = None,
    status: str = TicketStatus.DONE.value,
) -> Ticket:
    """A ticket served on the n-th working day back (0 = today), with fixed times."""
    day = calendar.today()
    for _ in range(days_ago):
        day -= timedelta(days=1)
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    clock = datetime.min.time().replace(hour=9 + slot // 2, minute=30 * (slot % 2))
    starts_at = calendar.at(day, clock).astimezone(utcnow().tzinfo)
    booking = make_booking(
        session,
        calendar,
        starts_at=starts_at,
        staff_login=staff_login,
        service_code=service_code,
        now=starts_at - timedelta(days=7),
    )
    checked_in = starts_at - timedelta(minutes=5)
    called = checked_in + timedelta(minutes=wait_minutes)
    done = status == TicketStatus.DONE.value
    return make_ticket(
        session,
        booking,
        office_day=day,
        status=status,
        checked_in_at=checked_in,
        called_at=called,
        started_at=called if done else None,
        finished_at=called + timedelta(minutes=service_minutes) if done else None,
        late_start_minutes=late_start_minutes,
    )
