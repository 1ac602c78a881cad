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
        "status": TicketStatus.WAITING,
        "service_id": booking.service_id,
        "staff_id": booking.staff_id,
        "room_id": booking.room_id,
        "booked_at": booking.starts_at,
        "checked_in_at": utcnow(),
    }
    values.update(overrides)
    ticket = Ticket(**values)
    booking.status = BookingStatus.CHECKED_IN
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
    """A full visit through the real services (§4): booking, confirmation sent, check-in and
    print, call, start, transfer, the new specialist's call, meeting room with an invited
    colleague, finish with the final message, and a rating from the ticket's page.

    Each step runs with the clock moved to its moment (time-machine), as on the day itself.
    """
    from collections.abc import Callable
    from datetime import timedelta

    import time_machine

    from visits.models import Room
    from visits.notify.sender import outbox_send_due
    from visits.services.checkin import ticket_checkin
    from visits.services.meeting_rooms import colleague_invite, room_reserve
    from visits.services.printing import print_job_run
    from visits.services.queue import ticket_call_next, ticket_finish, ticket_start, ticket_transfer
    from visits.services.rating import rating_by_token

    starts_at = next_working_moment(calendar)
    minutes = iter(range(-10, 100))

    def step(action: Callable[[], Any]) -> Any:
        with time_machine.travel(starts_at + timedelta(minutes=next(minutes)), tick=False):
            return action()

    with time_machine.travel(starts_at - timedelta(days=1), tick=False):
        client = make_client(session, surname="Сидоров", first_name="Пётр", patronymic="Ильич")
        booking = make_booking(session, calendar, client=client, starts_at=starts_at, now=utcnow())
        kiosk, _token = make_device(session, DeviceKind.KIOSK)
    step(lambda: outbox_send_due(session=session, config=calendar.config))
    result = step(
        lambda: ticket_checkin(
            session=session, calendar=calendar, code=booking.code, device_id=kiosk.id or 0
        )
    )
    step(
        lambda: print_job_run(
            session=session, calendar=calendar, job_id=result.print_job_id, device_id=kiosk.id
        )
    )
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking.id)).one()
    ticket_id = ticket.id or 0
    step(lambda: ticket_call_next(session=session, calendar=calendar, staff=ivanova))
    step(lambda: ticket_start(session=session, staff=ivanova, ticket_id=ticket_id))
    step(
        lambda: ticket_transfer(
            session=session,
            staff=ivanova,
            ticket_id=ticket_id,
            to_staff_id=smirnov.id or 0,
            reason="Вопрос о выкупе участка",
        )
    )
    step(lambda: ticket_call_next(session=session, calendar=calendar, staff=smirnov))
    step(lambda: ticket_start(session=session, staff=smirnov, ticket_id=ticket_id))
    meeting = session.exec(select(Room).where(Room.number == "311")).one()
    step(
        lambda: room_reserve(
            session=session,
            calendar=calendar,
            staff=smirnov,
            ticket_id=ticket_id,
            room_id=meeting.id or 0,
            minutes=30,
        )
    )
    step(
        lambda: colleague_invite(
            session=session,
            staff=smirnov,
            ticket_id=ticket_id,
            to_staff_id=ivanova.id or 0,
        )
    )
    step(
        lambda: ticket_finish(
            session=session, calendar=calendar, staff=smirnov, ticket_id=ticket_id
        )
    )
    step(lambda: rating_by_token(session=session, token=ticket.token, score=5, reasons=["вежливо"]))
    session.refresh(ticket)
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
        ticket.status = TicketStatus.CALLED
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
    status: str = TicketStatus.DONE,
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
    done = status == TicketStatus.DONE
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
