"""§35.2, §35.4: a tense conversation moves to a meeting room discreetly.

A visitor already with the specialist is escorted in person: no display line, no
chime or voice, no SMS or e-mail tells third parties (or the visitor beside the
specialist) about the move. Only a visitor called and not yet in the room is
directed to the meeting room by the displays.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session, col, select

from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import MessageKind, OutgoingMessage, PushEvent, Room, Ticket
from visits.queries.signage import call_event_phrase, display_board
from visits.rules import COMFORT_REMINDER
from visits.services.meeting_rooms import room_release, room_reserve
from visits.services.queue import ticket_call_next, ticket_start


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def _called(session: Session, calendar: WorkCalendar) -> Ticket:
    at = calendar.at(calendar.today(), time(10, 0))
    booking = make_booking(session, calendar, starts_at=at, client=None)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    ticket_call_next(
        session=session, calendar=calendar, staff=staff_by_login(session, "ivanova"), now=at
    )
    session.refresh(ticket)
    return ticket


def _moves(session: Session, ticket: Ticket) -> list[PushEvent]:
    return [
        e
        for e in session.exec(
            select(PushEvent).where(PushEvent.kind == "ticket.moved").order_by(col(PushEvent.id))
        ).all()
        if e.payload.get("ticket_id") == ticket.id
    ]


def _room_messages(session: Session, ticket: Ticket) -> list[OutgoingMessage]:
    return list(
        session.exec(
            select(OutgoingMessage).where(
                OutgoingMessage.ticket_id == ticket.id,
                OutgoingMessage.kind == MessageKind.ROOM_CHANGE.value,
            )
        ).all()
    )


def _meeting_room(session: Session) -> Room:
    return session.exec(select(Room).where(Room.number == "311")).one()


def test_a_move_during_the_visit_is_announced_nowhere(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _called(session, open_calendar)
    ivanova = staff_by_login(session, "ivanova")
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0)
    reservation = room_reserve(
        session=session,
        calendar=open_calendar,
        staff=ivanova,
        ticket_id=ticket.id or 0,
        room_id=_meeting_room(session).id or 0,
        minutes=30,
    )
    # The specialist's and the administrator's panels learn of it; the displays do not.
    (moved,) = _moves(session, ticket)
    assert "displays" not in moved.topics and f"staff:{ivanova.id}" in moved.topics
    assert call_event_phrase(session, event_id=moved.id or 0) is None  # no voice
    board = display_board(session, open_calendar, spot_key="f3-lift")
    assert all(c.room_number != "311" for c in board.calls)  # no line on the display
    assert _room_messages(session, ticket) == []  # no SMS, no e-mail
    # Going back to the room after the talk is as quiet.
    room_release(session=session, staff=ivanova, reservation_id=reservation.id or 0)
    assert all("displays" not in e.topics for e in _moves(session, ticket))
    assert _room_messages(session, ticket) == []


def test_a_visitor_not_yet_in_the_room_is_directed_by_the_displays(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _called(session, open_calendar)
    room_reserve(
        session=session,
        calendar=open_calendar,
        staff=staff_by_login(session, "ivanova"),
        ticket_id=ticket.id or 0,
        room_id=_meeting_room(session).id or 0,
        minutes=15,
    )
    (moved,) = _moves(session, ticket)
    assert "displays" in moved.topics
    board = display_board(session, open_calendar, spot_key="f3-lift")
    assert [c.room_number for c in board.calls if c.ticket_number == ticket.number] == ["311"]
    assert "переговорную" in (call_event_phrase(session, event_id=moved.id or 0) or "")


def test_the_comfort_reminder_lists_what_the_order_lists() -> None:
    text = " ".join(COMFORT_REMINDER)
    for words in ("проводите посетителя", "верхнюю одежду", "сесть за стол", "чай, кофе или воду"):
        assert words in text, words
