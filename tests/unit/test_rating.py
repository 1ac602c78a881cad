"""The rating service (§36, §17, §4): one rating per ticket, tablet rules, skipped prompts, alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tests.factories import make_device, make_finished_ticket, staff_by_login
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
    Ticket,
    TicketStatus,
)
from visits.services.rating import (
    PROMPT_TTL,
    RatingSource,
    rating_by_token,
    rating_from_tablet,
    rating_prompt_current,
    rating_prompt_open,
    rating_prompt_skip,
    rating_prompts_expire,
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
        reasons=["невежливо", "долго ждал(а)"],
        comment="  Долго   ждал ",
    )
    assert (rating.score, rating.source, rating.comment) == (2, "tablet", "Долго ждал")
    assert rating.reasons == ["долго ждал(а)", "невежливо"]  # the order of the chips
    assert rating.staff_id == ticket.staff_id and rating.room_id == ticket.room_id
    session.refresh(prompt)
    assert prompt.status == PromptStatus.ANSWERED
    (entry,) = _history(session, ticket, HistoryKind.RATED)  # §4
    assert entry.summary == (
        f"Талон {ticket.number}: оценка 2 из 5 (плохо). "
        "Причины: долго ждал(а), невежливо. Комментарий: «Долго ждал»."
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
