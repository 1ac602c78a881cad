"""The rating service (§36, §17, §4): one rating per ticket, tablet rules, skipped prompts, alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tests.factories import (
    make_booking,
    make_device,
    make_finished_ticket,
    make_ticket,
    next_working_moment,
    staff_by_login,
)
from visits.calendar import WorkCalendar, utcnow
from visits.db import write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from visits.models import (
    DeviceKind,
    HistoryEntry,
    HistoryKind,
    PromptStatus,
    PushEvent,
    Rating,
    RatingPrompt,
    Room,
    RoomReservation,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.services.meeting_rooms import room_reserve
from visits.services.queue import ticket_call_next, ticket_finish
from visits.services.rating import (
    PROMPT_TTL,
    RatingSource,
    rating_by_token,
    rating_from_tablet,
    rating_prompt_current,
    rating_prompt_open,
    rating_prompt_skip,
    rating_prompts_expire,
    rating_room_of,
)


def _finished(
    session: Session, calendar: WorkCalendar, **kw: object
) -> tuple[Ticket, RatingPrompt]:
    ticket = make_finished_ticket(session, calendar, **kw)  # type: ignore[arg-type]
    with write_transaction(session):
        prompt = rating_prompt_open(session, ticket=ticket)
    return ticket, prompt


def _history(session: Session, ticket: Ticket, kind: HistoryKind) -> list[HistoryEntry]:
    return list(
        session.exec(
            select(HistoryEntry).where(
                HistoryEntry.ticket_id == ticket.id, HistoryEntry.kind == kind.value
            )
        ).all()
    )


def test_tablet_rating_saves_history_closes_prompt_and_alerts_the_head(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket, prompt = _finished(session, calendar)
    tablet, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    rating = rating_from_tablet(
        session=session,
        device=tablet,
        prompt_id=prompt.id or 0,
        score=2,
        reasons=["невежливо", "долгое ожидание"],
        comment="  Долго   ждал ",
    )
    assert (rating.score, rating.source, rating.comment) == (2, "tablet", "Долго ждал")
    assert rating.reasons == ["долгое ожидание", "невежливо"]  # the order of the chips
    assert rating.staff_id == ticket.staff_id and rating.room_id == ticket.room_id
    session.refresh(prompt)
    assert prompt.status == PromptStatus.ANSWERED
    (entry,) = _history(session, ticket, HistoryKind.RATED)  # §4
    assert entry.summary == (
        f"Талон {ticket.number}: оценка 2 из 5 (плохо). "
        "Причины: долгое ожидание, невежливо. Комментарий: «Долго ждал»."
    )
    assert entry.actor == "Планшет в кабинете 305"
    smirnov = staff_by_login(session, "smirnov")
    alert = session.exec(select(PushEvent).where(PushEvent.kind == "rating.low")).one()
    assert alert.topics == [f"staff:{smirnov.id}"]
    assert alert.payload == {"rating_id": rating.id, "ticket_id": ticket.id, "score": 2}


def test_high_score_sends_no_alert_and_reasons_must_fit_the_score(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket, _prompt = _finished(session, calendar)
    with pytest.raises(InvalidInput):
        rating_by_token(session=session, token=ticket.token, score=5, reasons=["невежливо"])
    with pytest.raises(InvalidInput):
        rating_by_token(session=session, token=ticket.token, score=6, reasons=[])
    rating_by_token(session=session, token=ticket.token, score=5, reasons=["вежливо"])
    assert session.exec(select(PushEvent).where(PushEvent.kind == "rating.low")).first() is None


def test_one_rating_per_ticket_whichever_way_comes_first(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket, prompt = _finished(session, calendar)
    tablet, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    rating_by_token(
        session=session, token=ticket.token, score=4, reasons=[], source=RatingSource.LINK
    )
    with pytest.raises(Conflict, match="уже оценён"):
        rating_by_token(session=session, token=ticket.token, score=1, reasons=[])
    with pytest.raises(Conflict, match="уже оценён"):
        rating_from_tablet(
            session=session, device=tablet, prompt_id=prompt.id or 0, score=3, reasons=[]
        )
    assert len(session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).all()) == 1


def test_the_database_refuses_a_second_rating(session: Session, calendar: WorkCalendar) -> None:
    ticket, _prompt = _finished(session, calendar)
    rating_by_token(session=session, token=ticket.token, score=4, reasons=[])
    with pytest.raises(IntegrityError), write_transaction(session):
        session.add(
            Rating(
                ticket_id=ticket.id or 0,
                score=1,
                source="phone",
                staff_id=ticket.staff_id,
                service_id=ticket.service_id,
                room_id=ticket.room_id,
            )
        )


def test_tablet_of_another_room_sees_nothing(session: Session, calendar: WorkCalendar) -> None:
    _ticket, prompt = _finished(session, calendar)
    other, _token = make_device(session, DeviceKind.TABLET, room_number="309")
    assert rating_prompt_current(session=session, device=other) is None
    with pytest.raises(Forbidden):
        rating_from_tablet(
            session=session, device=other, prompt_id=prompt.id or 0, score=5, reasons=[]
        )
    own, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    found = rating_prompt_current(session=session, device=own)
    assert found is not None and found[0].id == prompt.id


def test_expired_prompt_is_skipped_with_history(session: Session, calendar: WorkCalendar) -> None:
    ticket, prompt = _finished(session, calendar)
    tablet, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    later = utcnow() + PROMPT_TTL + timedelta(seconds=1)
    with pytest.raises(RuleViolation, match="истекло"):
        rating_from_tablet(
            session=session, device=tablet, prompt_id=prompt.id or 0, score=5, reasons=[], now=later
        )
    assert rating_prompts_expire(session=session, now=later) == 1
    session.refresh(prompt)
    assert prompt.status == PromptStatus.SKIPPED
    assert len(_history(session, ticket, HistoryKind.RATING_SKIPPED)) == 1
    assert rating_prompts_expire(session=session, now=later) == 0
    # The ticket page and the message's link still accept the rating (§17).
    rating_by_token(session=session, token=ticket.token, score=5, reasons=[], now=later)


def test_tablet_idle_skips_the_prompt(session: Session, calendar: WorkCalendar) -> None:
    ticket, prompt = _finished(session, calendar)
    tablet, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    rating_prompt_skip(session=session, device=tablet, prompt_id=prompt.id or 0)
    assert rating_prompt_current(session=session, device=tablet) is None
    (entry,) = _history(session, ticket, HistoryKind.RATING_SKIPPED)
    assert "не ответил" in entry.summary


def test_a_visit_not_finished_cannot_be_rated(session: Session, calendar: WorkCalendar) -> None:
    ticket = make_finished_ticket(session, calendar, status=TicketStatus.CALLED)
    with pytest.raises(RuleViolation, match="после окончания приёма"):
        rating_by_token(session=session, token=ticket.token, score=5, reasons=[])
    assert session.exec(select(Rating).where(col(Rating.ticket_id) == ticket.id)).first() is None


def test_a_visit_ended_in_a_meeting_room_is_rated_on_the_specialists_tablet(
    session: Session, calendar: WorkCalendar
) -> None:
    """§36, §35.4: the meeting room has no tablet; the visitor walks out past room 305."""
    day = next_working_moment(calendar, hour=10, minute=0)
    ivanova = staff_by_login(session, "ivanova")
    booking = make_booking(session, calendar, starts_at=day, staff_login="ivanova")
    make_ticket(session, booking, checked_in_at=day - timedelta(minutes=5))
    ticket = ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=day).ticket
    meeting = session.exec(select(Room).where(Room.number == "311")).one()
    room_reserve(
        session=session,
        calendar=calendar,
        staff=ivanova,
        ticket_id=ticket.id,
        room_id=meeting.id,
        minutes=30,
        now=day,
    )
    ticket_finish(
        session=session,
        calendar=calendar,
        staff=ivanova,
        ticket_id=ticket.id or 0,
        now=day + timedelta(minutes=20),
    )
    session.refresh(ticket)
    assert ticket.room_id == meeting.id  # the conversation ended in the meeting room
    prompt = session.exec(select(RatingPrompt).where(RatingPrompt.ticket_id == ticket.id)).one()
    assert prompt.room_id == ivanova.room_id
    event = session.exec(select(PushEvent).where(PushEvent.kind == "rating.prompt")).one()
    assert event.topics == [f"room:{ivanova.room_id}"]

    in_meeting_room, _token = make_device(session, DeviceKind.TABLET, room_number="311")
    assert rating_prompt_current(session=session, device=in_meeting_room) is None
    own, _token = make_device(session, DeviceKind.TABLET, room_number="305")
    # (The prompt stays open for its minutes from the real clock's finish.)
    found = rating_prompt_current(session=session, device=own)
    assert found is not None and found[0].id == prompt.id
    rating = rating_from_tablet(
        session=session, device=own, prompt_id=prompt.id or 0, score=5, reasons=[]
    )
    # Reports count it under the specialist's room, not the meeting room.
    assert rating.room_id == ivanova.room_id
    (entry,) = _history(session, ticket, HistoryKind.RATED)
    assert entry.actor == "Планшет в кабинете 305"


def test_a_specialist_without_a_room_is_rated_where_the_visit_was_before_the_move(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket = make_finished_ticket(session, calendar)
    staff = session.get(Staff, ticket.staff_id)
    assert staff is not None
    own_room = staff.room_id
    meeting = session.exec(select(Room).where(Room.number == "311")).one()
    with write_transaction(session):
        staff.room_id = None
        ticket.room_id = meeting.id or 0
        session.add_all([staff, ticket])
        session.add(
            RoomReservation(
                room_id=meeting.id or 0,
                ticket_id=ticket.id,
                staff_id=staff.id or 0,
                starts_at=utcnow(),
                ends_at=utcnow() + timedelta(minutes=15),
                from_room_id=own_room,
            )
        )
    assert rating_room_of(session, ticket) == own_room
