"""Booking and cancelling (§29, §31, §32) and the no-double-booking constraint."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.conftest import Database
from tests.factories import (
    make_booking,
    make_client,
    next_working_moment,
    service_by_code,
    staff_by_login,
)
from visits.calendar import WorkCalendar
from visits.db import make_sessionmaker, write_transaction
from visits.errors import SLOT_TAKEN, Conflict, InvalidInput
from visits.models import (
    BookingStatus,
    HistoryEntry,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    SlotHold,
)
from visits.queries.slots import free_slots
from visits.ru import date_short
from visits.services.booking import (
    booking_cancel,
    booking_cancel_notice,
    booking_create,
    booking_outbox,
)


def test_confirmation_names_when_who_where_route_and_how_to_cancel(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar)
    message = session.exec(
        select(OutgoingMessage).where(OutgoingMessage.booking_id == booking.id)
    ).one()
    body = message.body
    assert body.startswith("Иван Петрович, вы записаны на приём")
    assert "Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж." in body
    assert "ул. Кирова, 3" in body and "Метро «Октябрьская»" in body  # §31
    assert "Лифт на 3 этаж, направо, третья дверь слева." in body
    assert f"Код записи: {booking.code}" in body
    assert (
        "Отменить запись можно по телефону 238-60-02 или 238-60-62 (пн–чт 09:00–18:00" in body
    )  # §32, §19: the numbers with the lines' hours


def test_second_channel_gets_a_copy(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session, channel="email", second_channel="sms")
    booking = make_booking(session, calendar, client=client)
    rows = session.exec(
        select(OutgoingMessage).where(OutgoingMessage.booking_id == booking.id)
    ).all()
    assert sorted(r.channel for r in rows) == ["email", "sms"]  # §3, §13


def test_booked_slot_disappears_and_cancel_frees_it(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    ivanova = staff_by_login(session, "ivanova")
    moment = next_working_moment(calendar, days_ahead=2)
    now = moment - timedelta(days=1)

    def slot_free() -> bool:
        slots = free_slots(
            session,
            calendar,
            service=service,
            staff_id=ivanova.id,
            now=now,
            first_day=calendar.to_local(moment).date(),
            days=1,
        )
        return any(s.starts_at == moment for s in slots)

    assert slot_free()
    booking = make_booking(session, calendar, starts_at=moment, now=now)
    assert not slot_free()
    booking_cancel(session=session, calendar=calendar, booking_id=booking.id, staff=None)
    assert slot_free()
    assert booking.status == BookingStatus.CANCELLED
    kinds = [
        h.kind
        for h in session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.booking_id == booking.id)
            .order_by(HistoryEntry.id)
        ).all()
    ]
    assert kinds == ["booking_created", "message_queued", "booking_cancelled", "message_queued"]


def test_slots_skip_lunch_weekend_and_past(session: Session, calendar: WorkCalendar) -> None:
    service = service_by_code(session, "payments")  # 15 minutes
    moment = next_working_moment(calendar, days_ahead=1, hour=12, minute=0)
    slots = free_slots(session, calendar, service=service, now=moment, days=5)
    local = [calendar.to_local(s.starts_at) for s in slots]
    assert local and min(local) >= calendar.to_local(moment)
    assert all(not ("13:00" <= t.strftime("%H:%M") < "13:48") for t in local)
    assert all(calendar.is_working_day(t.date()) for t in local)


@pytest.mark.parametrize(
    ("hour", "minute", "words"),
    [(13, 15, "обеденный перерыв"), (8, 0, "вне часов"), (10, 7, "нет в расписании")],
)
def test_bad_slot_times_refused(
    session: Session, calendar: WorkCalendar, hour: int, minute: int, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        make_booking(
            session, calendar, starts_at=next_working_moment(calendar, hour=hour, minute=minute)
        )
    assert session.exec(select(SlotHold)).first() is None


def test_same_form_posted_twice_books_once(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session)
    first = make_booking(session, calendar, client=client, submit_key="abc")
    second = make_booking(session, calendar, client=client, submit_key="abc")
    assert first.id == second.id


def test_two_operators_racing_for_one_slot_one_wins(
    fresh_db: Database, calendar: WorkCalendar
) -> None:
    """Real concurrency on a real database: the SlotHold unique constraint decides."""
    factory = make_sessionmaker(fresh_db.engine)
    with factory() as s:
        clients = [make_client(s, surname=name) for name in ("Гонкин", "Спешкин")]
        service, staff = service_by_code(s, "land-lease"), staff_by_login(s, "ivanova")
        ids = [c.id for c in clients]
        service_id, staff_id = service.id, staff.id
    moment = next_working_moment(calendar, days_ahead=3)
    barrier = threading.Barrier(len(ids) * 4)
    results: list[str] = []

    def attempt(client_id: int) -> None:
        with factory() as s:
            barrier.wait()
            try:
                booking_create(
                    session=s,
                    calendar=calendar,
                    client_id=client_id,
                    service_id=service_id,
                    staff_id=staff_id,
                    starts_at=moment,
                    remind_day_before=False,
                    remind_two_hours_before=False,
                    staff=None,
                )
                results.append("ok")
            except Conflict as exc:
                assert exc.message == SLOT_TAKEN
                results.append("taken")

    threads = [threading.Thread(target=attempt, args=(cid,)) for cid in ids * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["taken"] * 7
    with factory() as s:
        assert (
            len(s.exec(select(SlotHold).where(SlotHold.staff_id == staff_id)).all()) == 2
        )  # 30 min


def test_cancel_notice_says_the_time_is_free_and_where_the_message_went(
    session: Session, calendar: WorkCalendar
) -> None:
    """§32: the operator reads out that the time is free and how the client is told."""
    client = make_client(session, channel="email", second_channel="sms", phone="+79131234567")
    booking = make_booking(session, calendar, client=client)
    cancelled = booking_cancel(
        session=session, calendar=calendar, booking_id=booking.id, staff=None
    )
    notice = booking_cancel_notice(session=session, calendar=calendar, booking=cancelled)
    local = calendar.to_local(booking.starts_at)
    assert notice == (
        f"Запись на {date_short(local)}, {local:%H:%M} отменена. Это время снова свободно. "
        "Сообщение об отмене поставлено в очередь: "
        "электронная почта (ivan@example.ru), SMS (+7 913 123-45-67)."
    )


def test_cancel_notice_without_a_queued_message_asks_to_tell_the_client_now(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar)
    cancelled = booking_cancel(
        session=session, calendar=calendar, booking_id=booking.id, staff=None
    )
    with write_transaction(session):
        for row in booking_outbox(
            session=session, booking_id=booking.id or 0, kind=MessageKind.CANCELLATION
        ):
            row.status = MessageStatus.SKIPPED
            session.add(row)
    notice = booking_cancel_notice(session=session, calendar=calendar, booking=cancelled)
    assert notice.endswith(
        "Это время снова свободно. Сообщите клиенту об отмене сейчас, в разговоре."
    )
