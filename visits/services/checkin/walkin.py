"""A visitor without a booking takes today's first free time at the kiosk (§29)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from visits.calendar import WorkCalendar, utcnow
from visits.errors import Conflict, InvalidInput, TooManyAttempts
from visits.models import Booking, Client, Service
from visits.phones import phone_normalise
from visits.queries.slots import free_slots, slot_key_parse
from visits.services.booking import booking_create
from visits.services.checkin.common import (
    CheckinRefused,
    CheckinResult,
    first_free_slot_today,
    office_phones,
)
from visits.services.checkin.ticket import checkin_booking
from visits.services.clients import client_register
from visits.services.ratelimit import (
    DEFAULT_LIMITS,
    WALKINS_PHONE_REFUSED,
    Limits,
    walkin_kiosk_hit,
)

# A slot taken by an operator meanwhile: take the next one, this many times at most.
_SLOT_TRIES = 3


@dataclass(frozen=True)
class WalkinResult:
    """A same-day booking made at the kiosk, checked in when its window is open."""

    booking_id: int
    code: str
    starts_local: datetime
    checkin: CheckinResult | None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WalkinTime:
    """One of today's free times offered to a visitor without a booking (§29)."""

    key: str  # the slot's id, checked again on booking
    time: str  # "14:30"
    starts_at: datetime


# §29: the visitor chooses among the nearest few free times, and «позже» shows the next few.
WALKIN_TIMES_SHOWN = 4


def walkin_times(
    session: Session,
    calendar: WorkCalendar,
    *,
    service_id: int,
    after: datetime | None = None,
    now: datetime | None = None,
) -> list[WalkinTime]:
    """§29: today's nearest free times of a service (after `after` for «позже»), each time once."""
    now = now or utcnow()
    service = session.get(Service, service_id)
    if service is None or not service.active:
        return []
    today = calendar.to_local(now).date()
    times: list[WalkinTime] = []
    seen: set[datetime] = set()
    for slot in free_slots(session, calendar, service=service, first_day=today, days=1, now=now):
        if calendar.to_local(slot.starts_at).date() != today or slot.starts_at in seen:
            continue
        if after is not None and slot.starts_at <= after:
            continue
        seen.add(slot.starts_at)
        local = calendar.to_local(slot.starts_at)
        times.append(WalkinTime(key=slot.key, time=f"{local:%H:%M}", starts_at=slot.starts_at))
        if len(times) == WALKIN_TIMES_SHOWN:
            break
    return times


@dataclass(frozen=True)
class WalkinOffer:
    """A service a visitor without a booking can take today, with its first free time."""

    service_id: int
    service_code: str
    service_name: str
    letter: str
    time: str


def walkin_offers(
    session: Session, calendar: WorkCalendar, *, now: datetime | None = None
) -> list[WalkinOffer]:
    """Return the services with a free slot later today, each with its first free time."""
    offers = []
    services = session.exec(
        select(Service).where(col(Service.active).is_(True)).order_by(col(Service.letter))
    ).all()
    for service in services:
        slot = first_free_slot_today(session, calendar, service=service, now=now)
        if slot is not None and service.id is not None:
            offers.append(
                WalkinOffer(
                    service_id=service.id,
                    service_code=service.code,
                    service_name=service.name,
                    letter=service.letter,
                    time=f"{calendar.to_local(slot.starts_at):%H:%M}",
                )
            )
    return offers


def walkin_book(
    *,
    session: Session,
    calendar: WorkCalendar,
    service_id: int,
    phone: str,
    surname: str,
    first_name: str,
    patronymic: str,
    consent: bool,
    device_id: int,
    submit_key: str,
    now: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    slot: str = "",
    channel: str = "sms",
    second_channel: str = "",
) -> WalkinResult:
    """Book a visitor without a booking into today's chosen free time, and check in.

    §29: `slot` is the time the visitor chose (the first free one when empty).
    §3: `channel` and the optional `second_channel` are the visitor's choice of how
    to hear about the visit; an SMS to a city number is refused with its reason.
    """
    now = now or utcnow()
    service = session.get(Service, service_id)
    if service is None or not service.active:
        raise InvalidInput("Выберите вопрос из списка.", field="service")
    if not consent:
        raise InvalidInput(
            "Без согласия на обработку персональных данных записать нельзя. "
            "Отметьте согласие или подойдите к администратору.",
            field="consent",
        )
    number = phone_normalise(phone, city_code=calendar.config.office.city_code)
    if not (submit_key and _submitted(session, submit_key)):
        # Caps per kiosk and per phone a day: made-up visitors cannot take a day's free time.
        _walkin_caps(session, calendar, number, device_id, now, limits)
    client = _client_for_walkin(session, number, surname, first_name, patronymic)
    if client is None:
        client = client_register(
            session=session,
            surname=surname,
            first_name=first_name,
            patronymic=patronymic,
            phone=number,
            email=None,
            channel=channel,
            second_channel=second_channel or None,
            consent=True,
        )
    assert client.id is not None
    if slot:
        return walkin_book_chosen(
            session, calendar, service, client, slot, device_id, submit_key, now
        )
    return walkin_book_today(session, calendar, service, client.id, device_id, submit_key, now)


TIME_TAKEN = "Это время только что заняли. Выберите другое."


def walkin_book_chosen(
    session: Session,
    calendar: WorkCalendar,
    service: Service,
    client: Client,
    key: str,
    device_id: int,
    submit_key: str,
    now: datetime,
) -> WalkinResult:
    """§29: book the free time the visitor chose today, and check in if its window is open."""
    assert service.id is not None and client.id is not None
    # The chosen time must still be one of today's free times of this service.
    upcoming = _times_from(session, calendar, service.id, key, now)
    chosen = next((t for t in upcoming if t.key == key), None)
    if chosen is None:
        raise Conflict(TIME_TAKEN, code="slot_taken")
    parsed = slot_key_parse(key)
    assert parsed is not None
    try:
        booking = _walkin_booking_create(
            session, calendar, client.id, service.id, parsed, submit_key, now
        )
    except Conflict as exc:
        raise Conflict(TIME_TAKEN, code="slot_taken") from exc
    return _walkin_checkin(session, calendar, booking, client, device_id, now)


def _times_from(
    session: Session, calendar: WorkCalendar, service_id: int, key: str, now: datetime
) -> list[WalkinTime]:
    """The free times around a chosen later one («позже» pages past the first few)."""
    parsed = slot_key_parse(key)
    if parsed is None:
        return []
    after = parsed[1] - timedelta(seconds=1)
    return walkin_times(session, calendar, service_id=service_id, after=after, now=now)


def _walkin_caps(
    session: Session,
    calendar: WorkCalendar,
    number: str,
    device_id: int,
    now: datetime,
    limits: Limits,
) -> None:
    """Refuse a walk-in over the kiosk's or the phone number's cap for the office day."""
    today = calendar.to_local(now).date()
    day_start = calendar.at(today, datetime.min.time())
    booked = session.exec(
        select(func.count())
        .select_from(Booking)
        .join(Client, col(Client.id) == col(Booking.client_id))
        .where(
            col(Client.phone) == number,
            col(Booking.walk_in).is_(True),
            col(Booking.starts_at) >= day_start,
            col(Booking.starts_at) < day_start + timedelta(days=1),
        )
    ).one()
    if booked >= limits.walkins_per_phone_per_day:
        raise TooManyAttempts(WALKINS_PHONE_REFUSED, code="walkin_phone_cap")
    walkin_kiosk_hit(session=session, device_id=device_id, office_day=today, limits=limits, now=now)


def _submitted(session: Session, submit_key: str) -> bool:
    """True if this press was already booked (a second tap is not a second walk-in)."""
    return (
        session.exec(select(Booking.id).where(Booking.submit_key == submit_key)).first() is not None
    )


def walkin_book_today(
    session: Session,
    calendar: WorkCalendar,
    service: Service,
    client_id: int,
    device_id: int,
    submit_key: str,
    now: datetime,
) -> WalkinResult:
    """Book the client into today's first free time and check in if its window is open."""
    booking = _first_free_booking(session, calendar, service, client_id, submit_key, now)
    client = session.get(Client, client_id)
    assert client is not None
    return _walkin_checkin(session, calendar, booking, client, device_id, now)


def _walkin_checkin(
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    client: Client,
    device_id: int,
    now: datetime,
) -> WalkinResult:
    """Check the new booking in, or say when to come back when its window is not open yet."""
    assert booking.id is not None
    start = calendar.to_local(booking.starts_at)
    try:
        checkin = checkin_booking(
            session=session, calendar=calendar, booking_id=booking.id, device_id=device_id, now=now
        )
    except CheckinRefused as refused:
        if refused.reason != "too_early":
            raise
        return _come_back_later(calendar, booking, start, client)
    return WalkinResult(
        booking_id=booking.id, code=booking.code, starts_local=start, checkin=checkin
    )


def _first_free_booking(
    session: Session,
    calendar: WorkCalendar,
    service: Service,
    client_id: int,
    submit_key: str,
    now: datetime,
) -> Booking:
    """Book today's first free slot, moving on to the next when one is taken meanwhile."""
    assert service.id is not None
    for _ in range(_SLOT_TRIES):
        slot = first_free_slot_today(session, calendar, service=service, now=now)
        if slot is None:
            raise Conflict(
                "На сегодня свободного времени по этому вопросу нет. "
                f"Записаться на другой день можно по телефону {office_phones(calendar)}.",
                code="no_free_slot",
            )
        try:
            booking = _walkin_booking_create(
                session,
                calendar,
                client_id,
                service.id,
                (slot.staff_id, slot.starts_at),
                submit_key,
                now,
            )
        except Conflict:
            continue
        if booking.id is not None:
            return booking
        break
    raise Conflict("Свободное время только что заняли. Попробуйте ещё раз.")


def _walkin_booking_create(
    session: Session,
    calendar: WorkCalendar,
    client_id: int,
    service_id: int,
    slot: tuple[int, datetime],
    submit_key: str,
    now: datetime,
) -> Booking:
    """Book a walk-in into the slot (staff id, start): made at the kiosk, no staff, no reminders."""
    staff_id, starts_at = slot
    return booking_create(
        session=session,
        calendar=calendar,
        client_id=client_id,
        service_id=service_id,
        staff_id=staff_id,
        starts_at=starts_at,
        # Booked for today on the spot: the reminders a day or two hours before do not apply.
        remind_day_before=False,
        remind_two_hours_before=False,
        staff=None,
        submit_key=submit_key or None,
        walk_in=True,
        now=now,
    ).booking


def _come_back_later(
    calendar: WorkCalendar, booking: Booking, start: datetime, client: Client
) -> WalkinResult:
    """Tell a visitor booked too far ahead when to come back to the kiosk for the ticket."""
    assert booking.id is not None
    opens = start - timedelta(minutes=calendar.config.office.checkin_opens_minutes_before)
    # §3: say how the code comes only by a channel the visitor chose.
    by = {"sms": "Он придёт вам в SMS.", "phone": "Оператор назовёт его, когда позвонит вам."}
    how = " ".join(by[c] for c in client.channels if c in by) or "Запишите его."
    return WalkinResult(
        booking_id=booking.id,
        code=booking.code,
        starts_local=start,
        checkin=None,
        lines=[
            f"Вы записаны на сегодня, {start:%H:%M}.",
            f"Код записи: {booking.code}. {how}",
            f"Подойдите к терминалу с {opens:%H:%M} и введите код, чтобы получить талон.",
        ],
    )


def _client_for_walkin(
    session: Session, phone: str, surname: str, first_name: str, patronymic: str
) -> Client | None:
    """Return the client with this phone and name, so a regular visitor is not registered twice."""
    for client in session.exec(
        select(Client).where(Client.phone == phone, col(Client.merged_into_id).is_(None))
    ).all():
        if (
            _name_key(client.surname) == _name_key(surname)
            and _name_key(client.first_name) == _name_key(first_name)
            and _name_key(client.patronymic) == _name_key(patronymic)
        ):
            return client
    return None


def _name_key(value: str) -> str:
    """Fold a name for comparison: spaces collapsed, lower case, ё as е."""
    return " ".join((value or "").split()).lower().replace("ё", "е")
