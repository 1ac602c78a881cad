"""Check-in by phone number: today's bookings of the number, then one of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.errors import NotFound
from visits.models import Booking, BookingStatus, Client, Room, Service
from visits.phones import phone_normalise
from visits.services.checkin.common import CheckinResult
from visits.services.checkin.ticket import checkin_booking
from visits.services.ratelimit import ratelimit_hit

# Anti-enumeration: phone lookups per kiosk and window.
PHONE_LOOKUP_LIMIT = 20
PHONE_LOOKUP_WINDOW = timedelta(minutes=10)
PHONE_LOOKUP_REFUSED = (
    "Слишком много поисков по номеру телефона. Введите код записи из сообщения "
    "или подойдите к администратору в зале приёма."
)


@dataclass(frozen=True)
class PhoneMatch:
    """One of today's bookings found by phone: no surname, no phone shown."""

    booking_id: int
    address_name: str
    time: str
    service_name: str
    room_place: str


def checkin_bookings_by_phone(
    *,
    session: Session,
    calendar: WorkCalendar,
    phone: str,
    device_id: int,
    now: datetime | None = None,
) -> list[PhoneMatch]:
    """Return today's bookings of a phone number; rate-limited per kiosk against enumeration."""
    number = phone_normalise(phone, city_code=calendar.config.office.city_code)
    now = now or utcnow()
    ratelimit_hit(
        session=session,
        key=f"kiosk-phone:{device_id}",
        limit=PHONE_LOOKUP_LIMIT,
        window=PHONE_LOOKUP_WINDOW,
        message=PHONE_LOOKUP_REFUSED,
        now=now,
    )
    rows = _bookings_today(session, calendar, number, now)
    if not rows:
        raise NotFound(
            "На этот номер нет записи на сегодня. Проверьте номер или введите код записи.",
            code="checkin_no_booking",
        )
    return [_phone_match(session, calendar, booking, client) for booking, client in rows]


def checkin_by_phone(
    *,
    session: Session,
    calendar: WorkCalendar,
    phone: str,
    booking_id: int,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Check in one of the bookings found by phone; the phone must be the booking's."""
    number = phone_normalise(phone, city_code=calendar.config.office.city_code)
    booking = session.get(Booking, booking_id)
    client = session.get(Client, booking.client_id) if booking else None
    if booking is None or client is None or client.phone != number:
        raise NotFound("Запись не найдена. Начните поиск по номеру заново.")
    return checkin_booking(
        session=session, calendar=calendar, booking_id=booking_id, device_id=device_id, now=now
    )


def _bookings_today(
    session: Session, calendar: WorkCalendar, number: str, now: datetime
) -> list[tuple[Booking, Client]]:
    """Return today's booked or checked-in bookings of a phone number, by time."""
    today = calendar.to_local(now).date()
    day_start = calendar.at(today, datetime.min.time())
    rows = session.exec(
        select(Booking, Client)
        .join(Client, col(Client.id) == col(Booking.client_id))
        .where(
            Client.phone == number,
            col(Booking.starts_at) >= day_start,
            col(Booking.starts_at) < day_start + timedelta(days=1),
            col(Booking.status).in_([BookingStatus.BOOKED, BookingStatus.CHECKED_IN]),
        )
        .order_by(col(Booking.starts_at))
    ).all()
    return list(rows)


def _phone_match(
    session: Session, calendar: WorkCalendar, booking: Booking, client: Client
) -> PhoneMatch:
    """Describe a booking for the kiosk's list: name and patronymic only (§34.3)."""
    service = session.get(Service, booking.service_id)
    room = session.get(Room, booking.room_id)
    assert service and room and booking.id is not None
    return PhoneMatch(
        booking_id=booking.id,
        address_name=client.address_name,
        time=f"{calendar.to_local(booking.starts_at):%H:%M}",
        service_name=service.name,
        room_place=room.place,
    )
