"""The specialist's queue: order, calling, no-show, lateness (§34.4), transfers (§23), finish (§17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import (
    make_booking,
    make_client,
    make_ticket,
    next_working_moment,
    service_by_code,
    staff_by_login,
)
from visits.calendar import WorkCalendar
from visits.errors import Conflict, InvalidInput, RuleViolation
from visits.models import (
    AuditEntry,
    Booking,
    BookingStatus,
    Client,
    HistoryEntry,
    HistoryKind,
    OutgoingMessage,
    PushEvent,
    RatingPrompt,
    Room,
    Ticket,
    TicketStatus,
)
from visits.queries.today import today_board, today_called, today_freed
from visits.services.queue import (
    TRANSFER_LIMIT,
    lateness,
    ticket_call,
    ticket_call_next,
    ticket_finish,
    ticket_finish_change,
    ticket_no_show,
    ticket_recall,
    ticket_return,
    ticket_start,
    ticket_start_change,
    ticket_transfer,
)


def _ticket(
    session: Session,
    calendar: WorkCalendar,
    at: datetime,
    *,
    login: str = "ivanova",
    service_code: str = "land-lease",
    checked_in_before: int = 10,
    **client: str,
) -> Ticket:
    booking = make_booking(
        session,
        calendar,
        starts_at=at,
        staff_login=login,
        service_code=service_code,
        client=make_client(session, **client) if client else None,
    )
    return make_ticket(session, booking, checked_in_at=at - timedelta(minutes=checked_in_before))


@pytest.fixture
def day(calendar: WorkCalendar) -> datetime:
    """10:00 on the next working day (UTC)."""
    return next_working_moment(calendar, hour=10, minute=0)


def _events(session: Session, kind: str) -> list[PushEvent]:
    return list(session.exec(select(PushEvent).where(PushEvent.kind == kind)).all())


def test_call_next_takes_the_earliest_booked_time_of_this_specialist(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    late_booking = _ticket(session, calendar, day + timedelta(hours=1), checked_in_before=50)
    early = _ticket(session, calendar, day, checked_in_before=5)
    middle = _ticket(session, calendar, day + timedelta(minutes=30))
    # Another specialist's ticket, booked earlier, is not this specialist's queue.
    _ticket(session, calendar, day - timedelta(minutes=30), login="smirnov")
    now = day + timedelta(minutes=1)

    order = []
    for _ in range(3):
        result = ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=now)
        order.append(result.ticket.id)
        ticket_finish(
            session=session, calendar=calendar, staff=ivanova, ticket_id=result.ticket.id, now=now
        )
    assert order == [early.id, middle.id, late_booking.id]
    with pytest.raises(Conflict, match="никто не ждёт"):
        ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=now)


def test_yesterdays_waiting_ticket_is_not_called_today(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    _ticket(session, calendar, day)
    next_day = calendar.at(
        calendar.next_working_day(calendar.to_local(day).date()), datetime.min.time()
    ) + timedelta(hours=10)
    with pytest.raises(Conflict):
        ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=next_day)


def test_one_active_ticket_at_a_time_and_out_of_turn_call(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    first = _ticket(session, calendar, day)
    second = _ticket(session, calendar, day + timedelta(minutes=30))
    ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=second.id, now=day)
    assert session.get(Ticket, second.id).status == TicketStatus.CALLED  # type: ignore[union-attr]
    with pytest.raises(Conflict, match=f"Сначала завершите приём по талону {second.number}"):
        ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day)
    ticket_return(session=session, staff=ivanova, ticket_id=second.id, now=day)
    # Back in the list, with its priority by booked time: the earlier one goes first.
    assert (
        ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day).ticket.id
        == first.id
    )


def test_acting_on_a_ticket_that_changed_meanwhile_is_a_readable_conflict(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    ticket = _ticket(session, calendar, day)
    ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=ticket.id, now=day)
    with pytest.raises(Conflict, match=f"Талон {ticket.number} уже вызван"):
        ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=ticket.id, now=day)
    with pytest.raises(Conflict, match="передан другому специалисту"):
        ticket_start(session=session, staff=smirnov, ticket_id=ticket.id, now=day)
    ticket_finish(session=session, calendar=calendar, staff=ivanova, ticket_id=ticket.id, now=day)
    with pytest.raises(Conflict, match="приём завершён"):
        ticket_recall(session=session, staff=ivanova, ticket_id=ticket.id, now=day)


def test_no_show_only_after_two_recalls_or_five_minutes(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    a = _ticket(session, calendar, day)
    ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=a.id, now=day)
    with pytest.raises(RuleViolation, match="после двух повторных вызовов"):
        ticket_no_show(session=session, staff=ivanova, ticket_id=a.id, now=day)
    ticket_recall(session=session, staff=ivanova, ticket_id=a.id, now=day)
    with pytest.raises(RuleViolation):
        ticket_no_show(session=session, staff=ivanova, ticket_id=a.id, now=day)
    ticket_recall(session=session, staff=ivanova, ticket_id=a.id, now=day)
    ticket_no_show(session=session, staff=ivanova, ticket_id=a.id, now=day)
    assert session.get(Ticket, a.id).status == TicketStatus.NO_SHOW  # type: ignore[union-attr]
    assert session.get(Booking, a.booking_id).status == BookingStatus.NO_SHOW  # type: ignore[union-attr]

    b = _ticket(session, calendar, day + timedelta(minutes=30))
    ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=b.id, now=day)
    with pytest.raises(RuleViolation):
        ticket_no_show(
            session=session, staff=ivanova, ticket_id=b.id, now=day + timedelta(minutes=4)
        )
    ticket_no_show(session=session, staff=ivanova, ticket_id=b.id, now=day + timedelta(minutes=5))
    recalls = _events(session, "ticket.recalled")
    assert len(recalls) == 2 and all("displays" in e.topics for e in recalls)
    assert recalls[0].payload == {"ticket_id": a.id, "room_id": a.room_id}


def test_lateness_counts_from_booked_time_or_a_later_check_in() -> None:
    booked = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)
    early = booked - timedelta(minutes=20)
    assert (
        lateness(booked_at=booked, checked_in_at=early, called_at=booked + timedelta(minutes=12))
        == 12
    )
    assert (
        lateness(booked_at=booked, checked_in_at=early, called_at=booked - timedelta(minutes=3))
        == 0
    )
    # The visitor came 10 minutes late: only the wait after the check-in counts.
    late_in = booked + timedelta(minutes=10)
    assert (
        lateness(booked_at=booked, checked_in_at=late_in, called_at=booked + timedelta(minutes=12))
        == 2
    )


def test_late_call_prompts_an_apology_with_the_name_declined(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    ticket = _ticket(session, calendar, day)
    result = ticket_call_next(
        session=session,
        calendar=calendar,
        staff=ivanova,
        now=day + timedelta(minutes=12, seconds=30),
    )
    assert result.apology == (
        "Приём начинается на 12 минут позже записи. Извинитесь перед Иваном Петровичем."
    )
    assert session.get(Ticket, ticket.id).late_start_minutes == 12  # type: ignore[union-attr]
    board = today_board(session, calendar, ivanova, now=day + timedelta(minutes=13))
    assert board.apology == result.apology
    # A second call after a return does not measure again.
    ticket_return(session=session, staff=ivanova, ticket_id=ticket.id, now=day)
    ticket_call_next(
        session=session, calendar=calendar, staff=ivanova, now=day + timedelta(minutes=40)
    )
    assert session.get(Ticket, ticket.id).late_start_minutes == 12  # type: ignore[union-attr]


def test_a_call_on_time_needs_no_apology(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    _ticket(session, calendar, day, first_name="Мария", patronymic="Ильинична", surname="Сидорова")
    result = ticket_call_next(
        session=session, calendar=calendar, staff=ivanova, now=day + timedelta(seconds=50)
    )
    assert result.apology is None
    assert result.ticket.late_start_minutes == 0


def test_apology_for_a_woman_and_the_plural(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    _ticket(session, calendar, day, first_name="Ольга", patronymic="Сергеевна", surname="Котова")
    result = ticket_call_next(
        session=session, calendar=calendar, staff=ivanova, now=day + timedelta(minutes=22)
    )
    assert result.apology == (
        "Приём начинается на 22 минуты позже записи. Извинитесь перед Ольгой Сергеевной."
    )


def test_transfer_keeps_priority_and_is_capped_at_two(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    kuznetsova = staff_by_login(session, "kuznetsova")
    ticket = _ticket(session, calendar, day)
    own = _ticket(session, calendar, day + timedelta(minutes=30), login="smirnov")
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day)
    ticket_transfer(
        session=session,
        staff=ivanova,
        ticket_id=ticket.id,
        to_staff_id=smirnov.id,
        reason="Вопрос о выкупе",
        now=day,
    )
    moved = session.get(Ticket, ticket.id)
    assert moved is not None
    assert (moved.staff_id, moved.status, moved.transfer_count) == (smirnov.id, "waiting", 1)
    assert moved.room_id == smirnov.room_id and moved.booked_at == ticket.booked_at
    # §23: the transferred ticket keeps its place by the original booked time.
    first = ticket_call_next(session=session, calendar=calendar, staff=smirnov, now=day)
    assert first.ticket.id == ticket.id != own.id

    room = session.get(Room, smirnov.room_id)
    assert room is not None
    message = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.ticket_id == ticket.id, OutgoingMessage.kind == "room_change"
        )
    ).one()
    assert f"ваш приём по талону {ticket.number} продолжится: кабинет {room.number}" in message.body
    event = _events(session, "ticket.moved")[0]
    assert event.payload == {"ticket_id": ticket.id, "room_id": room.id}
    assert {"displays", f"staff:{smirnov.id}", f"staff:{ivanova.id}"} <= set(event.topics)
    entry = session.exec(
        select(HistoryEntry).where(HistoryEntry.kind == HistoryKind.TRANSFERRED)
    ).one()
    assert entry.staff_id == ivanova.id and "Причина: Вопрос о выкупе" in entry.summary

    # A second transfer to a specialist who serves a different question: the question changes too.
    purchase = service_by_code(session, "land-purchase")
    ticket_transfer(
        session=session,
        staff=smirnov,
        ticket_id=ticket.id,
        to_staff_id=kuznetsova.id,
        to_service_id=purchase.id,
        reason="Выкуп ведёт Кузнецова",
        now=day,
    )
    with pytest.raises(RuleViolation) as refused:
        ticket_transfer(
            session=session,
            staff=kuznetsova,
            ticket_id=ticket.id,
            to_staff_id=ivanova.id,
            reason="Третья передача",
            now=day,
        )
    assert refused.value.message == TRANSFER_LIMIT
    assert TRANSFER_LIMIT == (
        "Талон уже передавали дважды. Решите вопрос сами или пригласите коллегу в кабинет."
    )
    assert session.get(Ticket, ticket.id).transfer_count == 2  # type: ignore[union-attr]


def test_transfer_needs_a_reason_and_a_specialist_of_that_question(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    popov = staff_by_login(session, "popov")
    ticket = _ticket(session, calendar, day)
    with pytest.raises(InvalidInput, match="причину"):
        ticket_transfer(
            session=session, staff=ivanova, ticket_id=ticket.id, to_staff_id=popov.id, reason=" "
        )
    with pytest.raises(InvalidInput, match="не ведёт приём по этому вопросу"):
        ticket_transfer(
            session=session, staff=ivanova, ticket_id=ticket.id, to_staff_id=popov.id, reason="x"
        )
    assert session.get(Ticket, ticket.id).transfer_count == 0  # type: ignore[union-attr]


def test_finish_opens_the_rating_and_sends_the_survey_link(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    ticket = _ticket(session, calendar, day)
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day)
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id, now=day)
    ticket_finish(
        session=session,
        calendar=calendar,
        staff=ivanova,
        ticket_id=ticket.id,
        now=day + timedelta(minutes=20),
    )
    done = session.get(Ticket, ticket.id)
    assert done is not None and done.status == TicketStatus.DONE and done.finished_at is not None
    assert session.get(Booking, ticket.booking_id).status == BookingStatus.COMPLETED  # type: ignore[union-attr]
    prompt = session.exec(select(RatingPrompt).where(RatingPrompt.ticket_id == ticket.id)).one()
    assert prompt.room_id == ticket.room_id
    final = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.ticket_id == ticket.id, OutgoingMessage.kind == "final"
        )
    ).one()
    base = calendar.config.office.public_base_url.rstrip("/")
    assert f"{base}/t/{ticket.token}" in final.body  # §17
    kinds = [
        h.kind
        for h in session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.ticket_id == ticket.id)
            .order_by(col(HistoryEntry.id))
        ).all()
    ]
    assert kinds[:3] == ["called", "service_started", "served"]
    actions = {
        a.action
        for a in session.exec(select(AuditEntry).where(AuditEntry.ticket_id == ticket.id)).all()
    }
    assert {"ticket.call", "ticket.start", "ticket.finish"} <= actions
    finished = _events(session, "ticket.finished")
    assert finished and "displays" in finished[0].topics


def test_today_board_lists_the_day_in_time_order_with_statuses(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    make_booking(session, calendar, starts_at=day + timedelta(hours=2))  # not arrived yet
    waiting = _ticket(session, calendar, day + timedelta(hours=1))
    called = _ticket(session, calendar, day)
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day)
    board = today_board(session, calendar, ivanova, now=day + timedelta(minutes=1))
    assert [r.state for r in board.rows] == ["called", "waiting", "not_arrived"]
    assert board.rows[1].label.startswith("Ждёт с ")
    assert board.active is not None and board.active.ticket.id == called.id  # type: ignore[union-attr]
    assert board.next_row is not None and board.next_row.ticket.id == waiting.id  # type: ignore[union-attr]
    assert board.waiting_count == 1


def test_what_a_call_changes_reads_as_the_whole_day_shows_it(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    called = _ticket(session, calendar, day)
    _ticket(session, calendar, day + timedelta(hours=1))
    # Handed over by a colleague (§23): hers now, and counted among those who wait.
    handed = _ticket(session, calendar, day + timedelta(hours=2), login="smirnov")
    ticket_transfer(
        session=session,
        staff=smirnov,
        ticket_id=handed.id or 0,
        to_staff_id=ivanova.id or 0,
        reason="Ведёт Иванова",
        now=day,
    )
    make_booking(session, calendar, starts_at=day + timedelta(hours=4))  # not arrived yet
    late = day + timedelta(minutes=12, seconds=30)
    result = ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=late)
    assert result.ticket.id == called.id and result.event.id is not None

    # Read by the call itself (call next), and read afterwards (a call out of turn).
    assert result.read is not None
    own = today_called(
        session, calendar, ivanova, result.ticket, now=late, client=result.client, read=result.read
    )
    part = today_called(session, calendar, ivanova, result.ticket, now=late)
    whole = today_board(session, calendar, ivanova, now=late)
    for shown in (own, part):
        assert shown.active == whole.active and shown.rows == [whole.active]
        assert shown.waiting_count == whole.waiting_count == 2
        assert shown.apology == whole.apology == result.apology and shown.apology
        assert (shown.no_show_allowed, shown.no_show_hint) == (
            whole.no_show_allowed,
            whole.no_show_hint,
        )
        assert shown.reservation is None and whole.reservation is None


def test_what_a_start_and_a_finish_change_read_as_the_whole_day_shows_it(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    served = _ticket(session, calendar, day)
    later = _ticket(session, calendar, day + timedelta(hours=1))
    # Handed over by a colleague (§23): hers now, among those who wait, booked earliest.
    handed = _ticket(session, calendar, day - timedelta(minutes=30), login="smirnov")
    make_booking(session, calendar, starts_at=day + timedelta(hours=4))  # not arrived yet
    ticket_call(session=session, calendar=calendar, staff=ivanova, ticket_id=served.id, now=day)
    ticket_transfer(
        session=session,
        staff=smirnov,
        ticket_id=handed.id or 0,
        to_staff_id=ivanova.id or 0,
        reason="Ведёт Иванова",
        now=day,
    )
    at = day + timedelta(minutes=3)
    started = ticket_start_change(
        session=session, staff=ivanova, ticket_id=served.id or 0, now=at, calendar=calendar
    )
    assert started.ticket.id == served.id and started.event.id is not None
    # Read by the start itself, and read afterwards.
    assert started.read is not None and started.client is not None
    own = today_called(
        session, calendar, ivanova, started.ticket, now=at, client=started.client, read=started.read
    )
    part = today_called(session, calendar, ivanova, started.ticket, now=at)
    whole = today_board(session, calendar, ivanova, now=at)
    for shown in (own, part):
        assert shown.active == whole.active and shown.rows == [whole.active]
        assert shown.active is not None and shown.active.state == "in_service"
        assert shown.waiting_count == whole.waiting_count == 2
        assert shown.no_show_hint == whole.no_show_hint and shown.reservation is None

    at += timedelta(minutes=20)
    finished = ticket_finish_change(
        session=session, calendar=calendar, staff=ivanova, ticket_id=served.id or 0, now=at
    )
    assert finished.event.id is not None and finished.event.kind == "ticket.finished"
    part = today_freed(session, calendar, ivanova, finished.ticket, now=at)
    whole = today_board(session, calendar, ivanova, now=at)
    # The finished row, then those who wait, as the whole list shows them; no other row.
    assert part.rows[0] == next(r for r in whole.rows if r.ticket and r.ticket.id == served.id)
    assert part.rows[0].state == "done" and part.rows[0].label == "Принят"
    assert part.rows[1:] == [r for r in whole.rows if r.state == "waiting"]
    assert [r.ticket.id for r in part.rows[1:]] == [handed.id, later.id]  # type: ignore[union-attr]
    assert part.rows[1].transferred_in and part.rows[1] == whole.next_row == part.next_row
    assert part.active is None and whole.active is None
    assert part.waiting_count == whole.waiting_count == 2


def test_client_card_shows_earlier_visits_messages_and_documents_but_no_ratings(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    from visits.models import Rating
    from visits.queries.client_card import client_card
    from visits.services.notes import client_note_add

    ivanova = staff_by_login(session, "ivanova")
    first = _ticket(session, calendar, day)
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day)
    ticket_finish(session=session, calendar=calendar, staff=ivanova, ticket_id=first.id, now=day)
    session.add(
        Rating(
            ticket_id=first.id,
            score=4,
            comment="Долго ждал",
            source="tablet",
            staff_id=ivanova.id,
            service_id=first.service_id,
            room_id=first.room_id,
        )
    )
    session.commit()
    client_note_add(session=session, staff=ivanova, client_id=first.client_id, text="Нужна копия")
    later = make_booking(
        session,
        calendar,
        starts_at=next_working_moment(calendar, days_ahead=2),
        client=session.get(Client, first.client_id),
        service_code="payments",
    )
    card = client_card(session, later.id or 0)
    assert card is not None
    assert card.documents == ["Паспорт", "Договор аренды", "Квитанции об оплате"]
    assert [(v.status, v.ticket_number) for v in card.visits] == [("принят", first.number)]
    # §36: the rating (4, «Долго ждал») is anonymous to the specialist: nowhere on the card.
    assert not hasattr(card, "ratings")
    assert "Долго ждал" not in repr(card) and "score" not in repr(card.visits)
    assert card.notes[0].text == "Нужна копия"
    assert {m.status for m in card.messages} == {"ждёт отправки"}
    assert any(m.subject == "Оцените визит в департамент" for m in card.messages)
    assert client_card(session, 999999) is None
