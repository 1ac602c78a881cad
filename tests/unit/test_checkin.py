"""Check-in at the lobby kiosk: tickets, numbers, the refusal cases (§31, §34.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import (
    make_booking,
    make_client,
    make_device,
    next_working_moment,
    service_by_code,
)
from visits.calendar import WorkCalendar
from visits.errors import InvalidInput, NotFound, TooManyAttempts
from visits.models import (
    Booking,
    BookingStatus,
    Device,
    DeviceKind,
    HistoryEntry,
    HistoryKind,
    PrintJob,
    PushEvent,
    Ticket,
)
from visits.services.booking import booking_cancel
from visits.services.checkin import (
    PHONE_LOOKUP_LIMIT,
    CheckinRefused,
    checkin_booking,
    checkin_bookings_by_phone,
    checkin_by_phone,
    checkin_late_rebook,
    ticket_checkin,
    walkin_book,
    walkin_offers,
)
from visits.services.ratelimit import Limits


@pytest.fixture
def kiosk(session: Session) -> Device:
    device, _token = make_device(session, DeviceKind.KIOSK)
    return device


def _booking(session: Session, calendar: WorkCalendar, **kw: object) -> Booking:
    return make_booking(session, calendar, **kw)


def test_code_check_in_issues_a_numbered_ticket_and_greets_by_name(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=20)
    result = ticket_checkin(
        session=session, calendar=calendar, code=booking.code, device_id=kiosk.id, now=now
    )
    info = result.info
    assert info.number == "А-001"
    assert info.greeting == "Здравствуйте, Иван Петрович!"  # §34.3
    assert info.visit_sentence == (
        "Ваш приём в 10:30. Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж."
    )
    assert info.route == "Лифт на 3 этаж, направо, третья дверь слева."  # §31
    assert not info.late_arrival and not result.reprint
    ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking.id)).one()
    assert ticket.kiosk_device_id == kiosk.id and len(ticket.token) >= 22
    assert session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN
    job = session.get(PrintJob, result.print_job_id)
    assert job.status == "pending" and job.ticket_id == ticket.id and not job.reprint
    entry = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.ticket_id == ticket.id, HistoryEntry.kind == HistoryKind.CHECKED_IN
        )
    ).one()  # §4
    assert "талон А-001" in entry.summary and entry.actor == "Терминал в холле"
    event = session.exec(select(PushEvent).where(PushEvent.kind == "ticket.checked_in")).one()
    assert event.topics == [f"staff:{booking.staff_id}", "admin"]
    assert event.payload == {"ticket_id": ticket.id}


@pytest.mark.parametrize(
    "typed",
    ["PRIYOM:{code}", "priyom:{code}", " {code} ", "{ru}"],
    ids=["qr", "lower", "spaces", "russian-layout"],
)
def test_scanner_and_typed_codes_are_understood(
    session: Session, calendar: WorkCalendar, kiosk: Device, typed: str
) -> None:
    booking = _booking(session, calendar)
    en = "QWERTYUIOPASDFGHJKLZXCVBNM:"
    ru = "ЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬЖ"
    payload = f"PRIYOM:{booking.code}".translate(str.maketrans(en, ru))
    result = ticket_checkin(
        session=session,
        calendar=calendar,
        code=typed.format(code=booking.code, ru=payload),
        device_id=kiosk.id,
        now=booking.starts_at - timedelta(minutes=5),
    )
    assert result.booking_id == booking.id


def test_same_booking_twice_gives_the_same_ticket_and_one_print_per_press(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=30)
    first = checkin_booking(
        session=session, calendar=calendar, booking_id=booking.id, device_id=kiosk.id, now=now
    )
    again = checkin_booking(
        session=session,
        calendar=calendar,
        booking_id=booking.id,
        device_id=kiosk.id,
        now=now + timedelta(seconds=3),
    )
    assert again.reprint and again.info.number == first.info.number
    assert again.print_job_id == first.print_job_id  # the same press: no second job
    later = checkin_booking(
        session=session,
        calendar=calendar,
        booking_id=booking.id,
        device_id=kiosk.id,
        now=now + timedelta(minutes=5),
    )
    assert later.info.ticket_id == first.info.ticket_id
    assert session.get(PrintJob, later.print_job_id).reprint
    assert len(session.exec(select(Ticket)).all()) == 1


def test_too_early_says_when_check_in_opens(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    with pytest.raises(CheckinRefused) as refused:
        ticket_checkin(
            session=session,
            calendar=calendar,
            code=booking.code,
            device_id=kiosk.id,
            now=booking.starts_at - timedelta(minutes=61),
        )
    assert refused.value.reason == "too_early"
    assert "Ваш приём в 10:30" in refused.value.message
    assert "с 09:30" in refused.value.message
    assert session.exec(select(Ticket)).first() is None
    # Exactly 60 minutes before, it opens.
    ticket_checkin(
        session=session,
        calendar=calendar,
        code=booking.code,
        device_id=kiosk.id,
        now=booking.starts_at - timedelta(minutes=60),
    )


def test_up_to_15_minutes_late_checks_in_flagged(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    result = ticket_checkin(
        session=session,
        calendar=calendar,
        code=booking.code,
        device_id=kiosk.id,
        now=booking.starts_at + timedelta(minutes=15),
    )
    assert result.info.late_arrival and result.info.late_minutes == 15
    assert session.get(Ticket, result.info.ticket_id).late_arrival


def test_later_says_whom_to_ask_and_offers_a_free_slot_today(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    now = booking.starts_at + timedelta(minutes=16)
    with pytest.raises(CheckinRefused) as refused:
        ticket_checkin(
            session=session, calendar=calendar, code=booking.code, device_id=kiosk.id, now=now
        )
    assert refused.value.reason == "too_late"
    assert "до 10:45" in refused.value.message
    assert "Светлана Владимировна Орлова" in refused.value.message
    offer = refused.value.offer
    assert offer is not None and offer.starts_at >= now
    assert calendar.to_local(offer.starts_at).date() == calendar.to_local(now).date()

    rebooked = checkin_late_rebook(
        session=session,
        calendar=calendar,
        code=booking.code,
        device_id=kiosk.id,
        submit_key="late-1",
        now=now,
    )
    new = session.get(Booking, rebooked.booking_id)
    assert new.client_id == booking.client_id and new.walk_in
    assert new.starts_at == offer.starts_at
    # The first free slot is within the hour: checked in at once.
    assert rebooked.checkin is not None and rebooked.checkin.info.number == "А-001"


@pytest.mark.parametrize("days", [1, -1])
def test_another_day_says_the_date(
    session: Session, calendar: WorkCalendar, kiosk: Device, days: int
) -> None:
    booking = _booking(session, calendar, starts_at=next_working_moment(calendar, days_ahead=3))
    with pytest.raises(CheckinRefused) as refused:
        ticket_checkin(
            session=session,
            calendar=calendar,
            code=booking.code,
            device_id=kiosk.id,
            now=booking.starts_at - timedelta(days=days),
        )
    local = calendar.to_local(booking.starts_at)
    assert refused.value.reason == "other_day"
    assert f"{local.day} " in refused.value.message and "10:30" in refused.value.message
    assert ("была" in refused.value.message) == (days < 0)


def test_cancelled_and_unknown_codes_have_their_own_message(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    booking_cancel(session=session, calendar=calendar, booking_id=booking.id, staff=None)
    with pytest.raises(CheckinRefused) as refused:
        ticket_checkin(
            session=session,
            calendar=calendar,
            code=booking.code,
            device_id=kiosk.id,
            now=booking.starts_at,
        )
    assert refused.value.reason == "cancelled" and "отменена" in refused.value.message
    with pytest.raises(NotFound, match="Записи с кодом 222222 нет"):
        ticket_checkin(session=session, calendar=calendar, code="222222", device_id=kiosk.id)
    with pytest.raises(InvalidInput):
        ticket_checkin(session=session, calendar=calendar, code="ABC", device_id=kiosk.id)


def test_numbers_run_per_service_letter_and_restart_each_day(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    first_day = next_working_moment(calendar, days_ahead=1)
    second_day = next_working_moment(calendar, days_ahead=2)
    numbers = []
    for starts_at, service, staff in [
        (first_day, "land-lease", "ivanova"),
        (first_day, "land-lease", "smirnov"),
        (first_day, "payments", "kuznetsova"),
        (second_day, "land-lease", "ivanova"),
    ]:
        booking = _booking(
            session, calendar, starts_at=starts_at, service_code=service, staff_login=staff
        )
        numbers.append(
            checkin_booking(
                session=session,
                calendar=calendar,
                booking_id=booking.id,
                device_id=kiosk.id,
                now=starts_at - timedelta(minutes=10),
            ).info.number
        )
    assert numbers == ["А-001", "А-002", "Ж-001", "А-001"]


def test_phone_lookup_shows_no_surname_and_checks_the_chosen_booking_in(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    client = make_client(session, phone="+79131112233")
    first = _booking(session, calendar, client=client)
    second = _booking(
        session,
        calendar,
        client=client,
        starts_at=first.starts_at + timedelta(hours=2),
        staff_login="smirnov",
    )
    now = first.starts_at - timedelta(minutes=10)
    matches = checkin_bookings_by_phone(
        session=session, calendar=calendar, phone="8 913 111-22-33", device_id=kiosk.id, now=now
    )
    assert [m.booking_id for m in matches] == [first.id, second.id]
    assert matches[0].address_name == "Иван Петрович" and matches[0].time == "10:30"
    assert all("Петров " not in str(m) and "2233" not in str(m) for m in matches)
    with pytest.raises(NotFound):
        checkin_by_phone(
            session=session,
            calendar=calendar,
            phone="+79130000000",
            booking_id=first.id,
            device_id=kiosk.id,
            now=now,
        )
    result = checkin_by_phone(
        session=session,
        calendar=calendar,
        phone="+79131112233",
        booking_id=first.id,
        device_id=kiosk.id,
        now=now,
    )
    assert result.info.number == "А-001"


def test_code_look_ups_count_against_the_kiosk_limit_refused_ones_too(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    booking = _booking(session, calendar)
    now = booking.starts_at - timedelta(minutes=20)
    limits = Limits(kiosk_lookups_per_10_min=3)
    for _ in range(3):  # guesses: each refused, each counted
        with pytest.raises(NotFound):
            ticket_checkin(
                session=session,
                calendar=calendar,
                code="PRIYOM:AAAAAA",
                device_id=kiosk.id,
                now=now,
                limits=limits,
            )
    with pytest.raises(TooManyAttempts):
        ticket_checkin(
            session=session,
            calendar=calendar,
            code=booking.code,
            device_id=kiosk.id,
            now=now,
            limits=limits,
        )
    assert session.exec(select(Ticket)).all() == []


def test_phone_lookups_are_rate_limited_per_kiosk(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    other, _ = make_device(session, DeviceKind.KIOSK)
    now = next_working_moment(calendar)
    for _ in range(PHONE_LOOKUP_LIMIT):
        with pytest.raises(NotFound):
            checkin_bookings_by_phone(
                session=session,
                calendar=calendar,
                phone="+79139990000",
                device_id=kiosk.id,
                now=now,
            )
    with pytest.raises(TooManyAttempts):
        checkin_bookings_by_phone(
            session=session, calendar=calendar, phone="+79139990000", device_id=kiosk.id, now=now
        )
    with pytest.raises(NotFound):  # another kiosk counts on its own
        checkin_bookings_by_phone(
            session=session, calendar=calendar, phone="+79139990000", device_id=other.id, now=now
        )
    with pytest.raises(NotFound):  # the next window starts afresh
        checkin_bookings_by_phone(
            session=session,
            calendar=calendar,
            phone="+79139990000",
            device_id=kiosk.id,
            now=now + timedelta(minutes=11),
        )


def test_walk_in_books_the_first_free_slot_today_and_checks_in(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    now = next_working_moment(calendar, hour=10, minute=2)
    offers = walkin_offers(session, calendar, now=now)
    consultation = next(o for o in offers if o.service_code == "consultation")
    assert consultation.time == "10:15"
    result = walkin_book(
        session=session,
        calendar=calendar,
        service_id=consultation.service_id,
        phone="+79135554433",
        surname="Сергеева",
        first_name="Ольга",
        patronymic="Ивановна",
        consent=True,
        device_id=kiosk.id,
        submit_key="walkin-1",
        now=now,
    )
    assert result.checkin is not None
    assert result.checkin.info.number == "З-001"
    assert result.checkin.info.greeting == "Здравствуйте, Ольга Ивановна!"
    booking = session.get(Booking, result.booking_id)
    assert booking.walk_in and calendar.to_local(booking.starts_at).strftime("%H:%M") == "10:15"
    # The same form posted again books nothing new.
    again = walkin_book(
        session=session,
        calendar=calendar,
        service_id=consultation.service_id,
        phone="+79135554433",
        surname="сергеева",
        first_name="Ольга",
        patronymic="Ивановна",
        consent=True,
        device_id=kiosk.id,
        submit_key="walkin-1",
        now=now,
    )
    assert again.booking_id == result.booking_id and again.checkin.reprint


def test_walk_in_needs_consent(session: Session, calendar: WorkCalendar, kiosk: Device) -> None:
    service = service_by_code(session, "consultation")
    with pytest.raises(InvalidInput, match="согласия"):
        walkin_book(
            session=session,
            calendar=calendar,
            service_id=service.id,
            phone="+79135554433",
            surname="Сергеева",
            first_name="Ольга",
            patronymic="",
            consent=False,
            device_id=kiosk.id,
            submit_key="walkin-2",
            now=next_working_moment(calendar, hour=10, minute=2),
        )


def test_walk_in_later_today_gets_the_code_and_the_time_to_come(
    session: Session, calendar: WorkCalendar, kiosk: Device
) -> None:
    now = next_working_moment(calendar, hour=10, minute=0)
    service = service_by_code(session, "privatization")  # morozov and novikova
    # Fill both specialists' day until 14:00.
    cursor = now
    while calendar.to_local(cursor).hour < 14:
        if calendar.is_within_hours(cursor) and calendar.is_within_hours(
            cursor + timedelta(minutes=29)
        ):
            for login in ("morozov", "novikova"):
                _booking(
                    session,
                    calendar,
                    starts_at=cursor,
                    service_code="privatization",
                    staff_login=login,
                )
        cursor += timedelta(minutes=30)
    result = walkin_book(
        session=session,
        calendar=calendar,
        service_id=service.id,
        phone="+79135554433",
        surname="Сергеева",
        first_name="Ольга",
        patronymic="Ивановна",
        consent=True,
        device_id=kiosk.id,
        submit_key="walkin-3",
        now=now,
    )
    assert result.checkin is None
    assert result.starts_local.hour >= 13  # the morning is taken: after lunch
    assert any(result.code in line for line in result.lines)
    assert (
        session.exec(select(Ticket).where(col(Ticket.booking_id) == result.booking_id)).first()
        is None
    )
