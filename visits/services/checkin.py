"""Check-in at the lobby kiosk: a booking becomes a numbered ticket (§31, §34.3).

A visitor checks in by the booking code (typed, or scanned from the QR of the
confirmation) or by phone number. The ticket number is the service's letter
and a sequence per office day (А-001), taken from TicketCounter under a row
lock inside the check-in transaction; the unique constraints on Ticket stand
behind it. Checking in the same booking again gives the same ticket.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, is_sqlite, write_transaction
from visits.errors import Conflict, InvalidInput, NotFound, RuleViolation
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    HistoryKind,
    PrintJob,
    Role,
    Room,
    RoomKind,
    Service,
    Staff,
    Ticket,
    TicketCounter,
    TicketStatus,
)
from visits.push import push_emit
from visits.queries.slots import Slot, free_slots
from visits.queries.ticket_page import TicketInfo, ticket_info
from visits.ru import date_with_weekday
from visits.services.booking import booking_code_normalise, booking_create
from visits.services.clients import client_register, phone_normalise
from visits.services.history import history_record
from visits.services.ratelimit import ratelimit_hit

log = logging.getLogger(__name__)

KIOSK_ACTOR = "Терминал в холле"
# A second scan or tap within this time is the same press: no second print job.
SAME_PRESS = timedelta(seconds=15)
# Anti-enumeration: phone lookups per kiosk and window.
PHONE_LOOKUP_LIMIT = 20
PHONE_LOOKUP_WINDOW = timedelta(minutes=10)
PHONE_LOOKUP_REFUSED = (
    "Слишком много поисков по номеру телефона. Введите код записи из сообщения "
    "или подойдите к администратору в зале приёма."
)

# A scanner set to the Russian layout types ЗКШНЩЬЖ for PRIYOM: — map the keys back.
_RU_KEYS = "ЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬЖ"
_EN_KEYS = "QWERTYUIOPASDFGHJKLZXCVBNM:"
_LAYOUT = str.maketrans(_RU_KEYS + _RU_KEYS.lower(), _EN_KEYS + _EN_KEYS.lower())


class CheckinRefused(RuleViolation):
    """The booking cannot be checked in now; `reason` picks the kiosk's screen."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        booking_id: int | None = None,
        offer: Slot | None = None,
    ) -> None:
        super().__init__(message, code=f"checkin_{reason}")
        self.reason = reason
        self.booking_id = booking_id
        # §29: a free slot of the same day offered instead (late arrival).
        self.offer = offer


@dataclass(frozen=True)
class CheckinResult:
    """A checked-in booking: its ticket and the print job of this press."""

    info: TicketInfo
    booking_id: int
    staff_id: int
    print_job_id: int | None
    reprint: bool


@dataclass(frozen=True)
class PhoneMatch:
    """One of today's bookings found by phone: no surname, no phone shown."""

    booking_id: int
    address_name: str
    time: str
    service_name: str
    room_place: str


@dataclass(frozen=True)
class WalkinResult:
    """A same-day booking made at the kiosk, checked in when its window is open."""

    booking_id: int
    code: str
    starts_local: datetime
    checkin: CheckinResult | None
    lines: list[str] = field(default_factory=list)


def scanned_code(raw: str) -> str:
    """Return the booking code from typed or scanned input (QR payload "PRIYOM:CODE")."""
    return booking_code_normalise((raw or "").translate(_LAYOUT))


# --- check-in ----------------------------------------------------------------------------


def ticket_checkin(
    *,
    session: Session,
    calendar: WorkCalendar,
    code: str,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Check a booking in by its code (typed or scanned); return its ticket."""
    value = scanned_code(code)
    booking_id = session.exec(select(Booking.id).where(Booking.code == value)).first()
    if booking_id is None:
        log.info("check-in refused: unknown code")
        raise NotFound(
            f"Записи с кодом {value} нет. Проверьте код в сообщении о записи "
            "или найдите запись по номеру телефона.",
            code="checkin_unknown",
        )
    return checkin_booking(
        session=session, calendar=calendar, booking_id=booking_id, device_id=device_id, now=now
    )


def checkin_booking(
    *,
    session: Session,
    calendar: WorkCalendar,
    booking_id: int,
    device_id: int,
    now: datetime | None = None,
) -> CheckinResult:
    """Issue the booking's ticket, or return the one it already has (a reprint)."""
    now = now or utcnow()
    try:
        return _checkin(session, calendar, booking_id, device_id, now)
    except IntegrityError:
        # Another kiosk checked the same booking in at this very moment (the row
        # lock covers PostgreSQL; this covers the rest): theirs is the ticket.
        session.rollback()
        log.info("check-in of booking %s raced; returning the ticket issued", booking_id)
        return _checkin(session, calendar, booking_id, device_id, now)


def _checkin(
    session: Session, calendar: WorkCalendar, booking_id: int, device_id: int, now: datetime
) -> CheckinResult:
    with write_transaction(session):
        stmt = select(Booking).where(Booking.id == booking_id)
        if for_update(session):
            # Serialise check-ins of one booking; a second one then sees the ticket.
            stmt = stmt.with_for_update()
        booking = session.exec(stmt.execution_options(populate_existing=True)).one()
        ticket = session.exec(
            select(Ticket)
            .where(Ticket.booking_id == booking_id)
            .execution_options(populate_existing=True)
        ).first()
        if ticket is not None:
            return _reprint(session, calendar, booking, ticket, device_id, now)
        late_minutes = _check_window(session, calendar, booking, now)
        service = session.get(Service, booking.service_id)
        assert service is not None and booking.id is not None
        day = calendar.to_local(now).date()
        seq = _next_seq(session, day, service.letter)
        ticket = Ticket(
            number=f"{service.letter}-{seq:03d}",
            letter=service.letter,
            seq=seq,
            office_day=day,
            booking_id=booking.id,
            client_id=booking.client_id,
            token=secrets.token_urlsafe(18),
            status=TicketStatus.WAITING.value,
            service_id=booking.service_id,
            staff_id=booking.staff_id,
            room_id=booking.room_id,
            booked_at=booking.starts_at,
            checked_in_at=now,
            late_arrival=late_minutes > 0,
            kiosk_device_id=device_id,
        )
        session.add(ticket)
        booking.status = BookingStatus.CHECKED_IN.value
        session.add(booking)
        session.flush()
        assert ticket.id is not None
        job = PrintJob(ticket_id=ticket.id, device_id=device_id, created_at=now)
        session.add(job)
        session.flush()
        info = ticket_info(session, calendar, ticket)
        summary = f"Регистрация в терминале, талон {ticket.number}. {info.visit_sentence}" + (
            f" Опоздание {late_minutes} мин." if late_minutes else ""
        )
        history_record(
            session,
            client_id=booking.client_id,
            kind=HistoryKind.CHECKED_IN,
            actor=KIOSK_ACTOR,
            booking_id=booking.id,
            ticket_id=ticket.id,
            summary=summary,
            data={"late_minutes": late_minutes, "device_id": device_id},
            at=now,
        )
        push_emit(
            session,
            "ticket.checked_in",
            [f"staff:{booking.staff_id}", "admin"],
            ticket_id=ticket.id,
        )
    log.info(
        "check-in: booking %s -> ticket %s (late %s min)", booking_id, ticket.number, late_minutes
    )
    return CheckinResult(
        info=info,
        booking_id=booking_id,
        staff_id=booking.staff_id,
        print_job_id=job.id,
        reprint=False,
    )


def _reprint(
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    ticket: Ticket,
    device_id: int,
    now: datetime,
) -> CheckinResult:
    """The same booking again: the same ticket, printed again unless this is the same press."""
    if ticket.status == TicketStatus.DONE:
        raise CheckinRefused(
            "Приём по этой записи уже завершён. Если остался вопрос, "
            f"позвоните по телефону {_phones(calendar)} или запишитесь снова.",
            reason="finished",
            booking_id=booking.id,
        )
    assert ticket.id is not None
    recent = session.exec(
        select(PrintJob)
        .where(PrintJob.ticket_id == ticket.id, col(PrintJob.created_at) > now - SAME_PRESS)
        .order_by(col(PrintJob.id).desc())
    ).first()
    job = recent
    if job is None:
        job = PrintJob(ticket_id=ticket.id, device_id=device_id, reprint=True, created_at=now)
        session.add(job)
        session.flush()
    log.info("check-in again: booking %s keeps ticket %s", booking.id, ticket.number)
    return CheckinResult(
        info=ticket_info(session, calendar, ticket),
        booking_id=booking.id or 0,
        staff_id=ticket.staff_id,
        print_job_id=job.id,
        reprint=True,
    )


def _check_window(session: Session, calendar: WorkCalendar, booking: Booking, now: datetime) -> int:
    """Raise CheckinRefused unless the booking may be checked in now; return minutes late."""
    office = calendar.config.office
    start = calendar.to_local(booking.starts_at)
    today = calendar.to_local(now).date()
    opens = start - timedelta(minutes=office.checkin_opens_minutes_before)
    if booking.status == BookingStatus.CANCELLED:
        raise CheckinRefused(
            f"Запись на {date_with_weekday(start)}, {start:%H:%M}, отменена. "
            f"Записаться снова можно по телефону {_phones(calendar)}.",
            reason="cancelled",
            booking_id=booking.id,
        )
    if booking.status == BookingStatus.COMPLETED:
        raise CheckinRefused(
            "Приём по этой записи уже завершён.", reason="finished", booking_id=booking.id
        )
    if start.date() > today:
        raise CheckinRefused(
            f"Ваша запись — на {date_with_weekday(start)}, {start:%H:%M}. "
            f"Приходите в этот день: зарегистрироваться можно с {opens:%H:%M}.",
            reason="other_day",
            booking_id=booking.id,
        )
    if start.date() < today:
        raise CheckinRefused(
            f"Ваша запись была на {date_with_weekday(start)}, {start:%H:%M}. "
            f"Записаться снова можно по телефону {_phones(calendar)}.",
            reason="other_day",
            booking_id=booking.id,
        )
    local_now = calendar.to_local(now)
    if local_now < opens:
        raise CheckinRefused(
            f"Ваш приём в {start:%H:%M}. Регистрация открывается за "
            f"{office.checkin_opens_minutes_before} минут до приёма: "
            f"подойдите к терминалу с {opens:%H:%M}.",
            reason="too_early",
            booking_id=booking.id,
        )
    late = math.floor((now - booking.starts_at).total_seconds() / 60)
    grace = office.late_checkin_grace_minutes
    if late > grace or booking.status == BookingStatus.NO_SHOW:
        service = session.get(Service, booking.service_id)
        assert service is not None
        offer = first_free_slot_today(session, calendar, service=service, now=now)
        raise CheckinRefused(
            f"Ваш приём был в {start:%H:%M}. Зарегистрироваться можно было до "
            f"{start + timedelta(minutes=grace):%H:%M}. {_whom_to_ask(session, calendar)}",
            reason="too_late",
            booking_id=booking.id,
            offer=offer,
        )
    return max(0, late)


def _whom_to_ask(session: Session, calendar: WorkCalendar) -> str:
    admins = [
        s
        for s in session.exec(select(Staff).where(col(Staff.active).is_(True))).all()
        if s.has_role(Role.ADMINISTRATOR)
    ]
    hall = session.exec(select(Room).where(Room.kind == RoomKind.HALL.value)).first()
    if admins and hall:
        return (
            f"Обратитесь к администратору приёма: {admins[0].full_name}, "
            f"{hall.name.lower() or 'зал приёма'} {hall.number}, {hall.floor} этаж."
        )
    return f"Позвоните по телефону {_phones(calendar)}: оператор подберёт новое время."


def _next_seq(session: Session, day: date, letter: str) -> int:
    """Take the next ticket sequence of a letter on an office day, in one upsert.

    The upsert's row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) makes two
    kiosks take two different numbers.
    """
    dialect = sqlite if is_sqlite(session) else postgresql
    insert = dialect.insert(TicketCounter).values(office_day=day, letter=letter, last_seq=1)
    upsert = insert.on_conflict_do_update(
        index_elements=["office_day", "letter"],
        set_={"last_seq": col(TicketCounter.last_seq) + 1},
    ).returning(col(TicketCounter.last_seq))
    return int(session.execute(upsert).scalar_one())


def _phones(calendar: WorkCalendar) -> str:
    return " или ".join(calendar.config.office.phones)


# --- by phone number ---------------------------------------------------------------------


def checkin_bookings_by_phone(
    *,
    session: Session,
    calendar: WorkCalendar,
    phone: str,
    device_id: int,
    now: datetime | None = None,
) -> list[PhoneMatch]:
    """Today's bookings of a phone number; rate-limited per kiosk against enumeration."""
    number = phone_normalise(phone)
    now = now or utcnow()
    ratelimit_hit(
        session=session,
        key=f"kiosk-phone:{device_id}",
        limit=PHONE_LOOKUP_LIMIT,
        window=PHONE_LOOKUP_WINDOW,
        message=PHONE_LOOKUP_REFUSED,
        now=now,
    )
    today = calendar.to_local(now).date()
    day_start = calendar.at(today, datetime.min.time())
    rows = session.exec(
        select(Booking, Client)
        .join(Client, col(Client.id) == col(Booking.client_id))
        .where(
            Client.phone == number,
            col(Booking.starts_at) >= day_start,
            col(Booking.starts_at) < day_start + timedelta(days=1),
            col(Booking.status).in_([BookingStatus.BOOKED.value, BookingStatus.CHECKED_IN.value]),
        )
        .order_by(col(Booking.starts_at))
    ).all()
    if not rows:
        raise NotFound(
            "На этот номер нет записи на сегодня. Проверьте номер или введите код записи.",
            code="checkin_no_booking",
        )
    matches = []
    for booking, client in rows:
        service = session.get(Service, booking.service_id)
        room = session.get(Room, booking.room_id)
        assert service and room and booking.id is not None
        matches.append(
            PhoneMatch(
                booking_id=booking.id,
                address_name=client.address_name,
                time=f"{calendar.to_local(booking.starts_at):%H:%M}",
                service_name=service.name,
                room_place=room.place,
            )
        )
    return matches


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
    number = phone_normalise(phone)
    booking = session.get(Booking, booking_id)
    client = session.get(Client, booking.client_id) if booking else None
    if booking is None or client is None or client.phone != number:
        raise NotFound("Запись не найдена. Начните поиск по номеру заново.")
    return checkin_booking(
        session=session, calendar=calendar, booking_id=booking_id, device_id=device_id, now=now
    )


# --- without a booking: the first free slot of the day ------------------------------------


def first_free_slot_today(
    session: Session, calendar: WorkCalendar, *, service: Service, now: datetime | None = None
) -> Slot | None:
    """The first free slot of a service later today (§29), or None."""
    now = now or utcnow()
    today = calendar.to_local(now).date()
    for slot in free_slots(session, calendar, service=service, first_day=today, days=1, now=now):
        if calendar.to_local(slot.starts_at).date() == today:
            return slot
    return None


@dataclass(frozen=True)
class WalkinOffer:
    service_id: int
    service_code: str
    service_name: str
    letter: str
    time: str


def walkin_offers(
    session: Session, calendar: WorkCalendar, *, now: datetime | None = None
) -> list[WalkinOffer]:
    """Services with a free slot later today, each with its first free time."""
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
) -> WalkinResult:
    """Book the first free slot of today for a visitor without a booking, and check in."""
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
    number = phone_normalise(phone)
    client = _client_for_walkin(session, number, surname, first_name, patronymic)
    if client is None:
        client = client_register(
            session=session,
            surname=surname,
            first_name=first_name,
            patronymic=patronymic,
            phone=number,
            email=None,
            channel="sms",
            second_channel=None,
            consent=True,
        )
    assert client.id is not None
    return _book_today(session, calendar, service, client.id, device_id, submit_key, now)


def checkin_late_rebook(
    *,
    session: Session,
    calendar: WorkCalendar,
    code: str,
    device_id: int,
    submit_key: str,
    now: datetime | None = None,
) -> WalkinResult:
    """A visitor too late for the booking takes the first free slot of today instead."""
    now = now or utcnow()
    value = scanned_code(code)
    booking = session.exec(select(Booking).where(Booking.code == value)).first()
    if booking is None:
        raise NotFound(f"Записи с кодом {value} нет.", code="checkin_unknown")
    try:
        _check_window(session, calendar, booking, now)
    except CheckinRefused as refused:
        if refused.reason != "too_late":
            raise
    else:
        raise RuleViolation("На эту запись можно зарегистрироваться: нажмите «На главную».")
    service = session.get(Service, booking.service_id)
    assert service is not None
    return _book_today(session, calendar, service, booking.client_id, device_id, submit_key, now)


def _client_for_walkin(
    session: Session, phone: str, surname: str, first_name: str, patronymic: str
) -> Client | None:
    """The client with this phone and name, so a regular visitor is not registered twice."""
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
    return " ".join((value or "").split()).lower().replace("ё", "е")


def _book_today(
    session: Session,
    calendar: WorkCalendar,
    service: Service,
    client_id: int,
    device_id: int,
    submit_key: str,
    now: datetime,
) -> WalkinResult:
    assert service.id is not None
    booking = None
    # A slot taken by an operator meanwhile: take the next one, a few times at most.
    for _ in range(3):
        slot = first_free_slot_today(session, calendar, service=service, now=now)
        if slot is None:
            raise Conflict(
                "На сегодня свободного времени по этому вопросу нет. "
                f"Записаться на другой день можно по телефону {_phones(calendar)}.",
                code="no_free_slot",
            )
        try:
            booking = booking_create(
                session=session,
                calendar=calendar,
                client_id=client_id,
                service_id=service.id,
                staff_id=slot.staff_id,
                starts_at=slot.starts_at,
                remind_day_before=False,
                remind_two_hours_before=False,
                staff=None,
                submit_key=submit_key or None,
                walk_in=True,
                now=now,
            ).booking
            break
        except Conflict:
            continue
    if booking is None or booking.id is None:
        raise Conflict("Свободное время только что заняли. Попробуйте ещё раз.")
    start = calendar.to_local(booking.starts_at)
    try:
        checkin = checkin_booking(
            session=session, calendar=calendar, booking_id=booking.id, device_id=device_id, now=now
        )
    except CheckinRefused as refused:
        if refused.reason != "too_early":
            raise
        opens = start - timedelta(minutes=calendar.config.office.checkin_opens_minutes_before)
        return WalkinResult(
            booking_id=booking.id,
            code=booking.code,
            starts_local=start,
            checkin=None,
            lines=[
                f"Вы записаны на сегодня, {start:%H:%M}.",
                f"Код записи: {booking.code}. Он придёт вам в SMS.",
                f"Подойдите к терминалу с {opens:%H:%M} и введите код, чтобы получить талон.",
            ],
        )
    return WalkinResult(
        booking_id=booking.id, code=booking.code, starts_local=start, checkin=checkin
    )
