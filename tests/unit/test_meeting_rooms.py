"""Meeting rooms for a tense conversation (§35): no overlaps, ticket moves, colleague invites."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from tests.conftest import Database
from tests.factories import make_booking, make_ticket, next_working_moment, staff_by_login
from visits.calendar import WorkCalendar
from visits.db import make_sessionmaker
from visits.errors import Conflict, InvalidInput
from visits.models import (
    ColleagueInvite,
    HistoryEntry,
    HistoryKind,
    OutgoingMessage,
    PushEvent,
    Room,
    RoomReservation,
    Staff,
    Ticket,
)
from visits.queries.today import invites_for, meeting_rooms_now
from visits.services.meeting_rooms import (
    colleague_invite,
    colleague_invite_seen,
    room_release,
    room_reserve,
)
from visits.services.queue import ticket_call_next, ticket_finish


def _room(session: Session, number: str) -> Room:
    return session.exec(select(Room).where(Room.number == number)).one()


def _called(session: Session, calendar: WorkCalendar, login: str, at: datetime) -> Ticket:
    """A ticket of `login` booked at `at`, checked in and called."""
    staff = staff_by_login(session, login)
    service = {
        "kuznetsova": "payments",
        "popov": "land-free",
        "sokolova": "land-free",
        "lebedev": "property-lease",
    }.get(login, "land-lease")
    booking = make_booking(session, calendar, starts_at=at, staff_login=login, service_code=service)
    make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    return ticket_call_next(session=session, calendar=calendar, staff=staff, now=at).ticket


@pytest.fixture
def day(calendar: WorkCalendar) -> datetime:
    return next_working_moment(calendar, hour=10, minute=0)


def test_reserve_moves_the_ticket_and_refuses_an_overlap(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    room = _room(session, "311")
    mine = _called(session, calendar, "ivanova", day)
    other = _called(session, calendar, "smirnov", day)
    reservation = room_reserve(
        session=session,
        calendar=calendar,
        staff=ivanova,
        ticket_id=mine.id,
        room_id=room.id,
        minutes=30,
        now=day,
    )
    assert reservation.ends_at == day + timedelta(minutes=30)
    moved = session.get(Ticket, mine.id)
    assert moved is not None and moved.room_id == room.id
    event = session.exec(select(PushEvent).where(PushEvent.kind == "ticket.moved")).one()
    assert event.payload == {"ticket_id": mine.id, "room_id": room.id}
    assert "displays" in event.topics
    assert session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.ticket_id == mine.id, OutgoingMessage.kind == "room_change"
        )
    ).first()
    with pytest.raises(Conflict, match="Переговорная 311 занята до"):
        room_reserve(
            session=session,
            calendar=calendar,
            staff=smirnov,
            ticket_id=other.id,
            room_id=room.id,
            minutes=15,
            now=day + timedelta(minutes=29),
        )
    states = {s.room.number: s for s in meeting_rooms_now(session, now=day + timedelta(minutes=5))}
    assert not states["311"].free and states["311"].current_ticket == mine.number
    assert states["106"].free

    room_release(session=session, staff=ivanova, reservation_id=reservation.id, now=day)
    back = session.get(Ticket, mine.id)
    assert back is not None and back.room_id == ivanova.room_id
    # Free again at once.
    room_reserve(
        session=session,
        calendar=calendar,
        staff=smirnov,
        ticket_id=other.id,
        room_id=room.id,
        minutes=60,
        now=day + timedelta(minutes=1),
    )
    kinds = {h.kind for h in session.exec(select(HistoryEntry)).all()}
    assert {HistoryKind.MEETING_ROOM, HistoryKind.MEETING_ROOM_RELEASED} <= kinds


def test_reserve_checks_minutes_room_kind_and_ticket_state(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    ticket = _called(session, calendar, "ivanova", day)
    meeting = _room(session, "106")
    with pytest.raises(InvalidInput, match="15, 30 или 60"):
        room_reserve(
            session=session,
            calendar=calendar,
            staff=ivanova,
            ticket_id=ticket.id,
            room_id=meeting.id,
            minutes=45,
        )
    with pytest.raises(InvalidInput, match="переговорную"):
        room_reserve(
            session=session,
            calendar=calendar,
            staff=ivanova,
            ticket_id=ticket.id,
            room_id=_room(session, "305").id,
            minutes=15,
        )
    ticket_finish(session=session, calendar=calendar, staff=ivanova, ticket_id=ticket.id)
    with pytest.raises(Conflict, match="уже принят"):
        room_reserve(
            session=session,
            calendar=calendar,
            staff=ivanova,
            ticket_id=ticket.id,
            room_id=meeting.id,
            minutes=15,
        )


def test_invite_reaches_the_colleagues_panel(
    session: Session, calendar: WorkCalendar, day: datetime
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    ticket = _called(session, calendar, "ivanova", day)
    reservation = room_reserve(
        session=session,
        calendar=calendar,
        staff=ivanova,
        ticket_id=ticket.id,
        room_id=_room(session, "311").id,
        minutes=30,
        now=day,
    )
    invite = colleague_invite(
        session=session,
        staff=ivanova,
        ticket_id=ticket.id,
        to_staff_id=smirnov.id,
        message="Спор о границах участка",
    )
    event = session.exec(select(PushEvent).where(PushEvent.kind == "invite")).one()
    assert event.topics == [f"staff:{smirnov.id}"] and event.payload == {"invite_id": invite.id}
    notices = invites_for(session, smirnov)
    assert [(n.room.number, n.ticket_number, n.from_staff.login) for n in notices] == [
        ("311", ticket.number, "ivanova")
    ]
    colleague_invite_seen(session=session, staff=smirnov, invite_id=invite.id)
    assert invites_for(session, smirnov) == []
    entry = session.exec(
        select(HistoryEntry).where(HistoryEntry.kind == HistoryKind.COLLEAGUE_INVITED)
    ).one()
    assert "Алексей Викторович Смирнов" in entry.summary
    # Finishing the visit ends the reservation.
    ticket_finish(session=session, calendar=calendar, staff=ivanova, ticket_id=ticket.id)
    assert session.get(RoomReservation, reservation.id).released_at is not None  # type: ignore[union-attr]
    assert session.get(ColleagueInvite, invite.id) is not None


@pytest.mark.slow
def test_concurrent_reservations_of_one_room_never_overlap(
    fresh_db: Database, calendar: WorkCalendar, day: datetime
) -> None:
    """Six specialists reserve the same meeting room at the same instant: one wins, each round."""
    factory = make_sessionmaker(fresh_db.engine)
    logins = ["ivanova", "smirnov", "kuznetsova", "popov", "sokolova", "lebedev"]
    now = day
    with factory() as session:
        room_id = _room(session, "311").id
        tickets = {login: _called(session, calendar, login, now).id for login in logins}
        staff_ids = {login: staff_by_login(session, login).id for login in logins}

    def reserve(
        login: str,
        moment: datetime,
        barrier: threading.Barrier,
        won: list[str],
        errors: list[BaseException],
    ) -> None:
        with factory() as session:
            staff = session.get(Staff, staff_ids[login])
            assert staff is not None
            barrier.wait()
            try:
                room_reserve(
                    session=session,
                    calendar=calendar,
                    staff=staff,
                    ticket_id=tickets[login],
                    room_id=room_id,
                    minutes=60,
                    now=moment,
                )
                won.append(login)
            except Conflict:
                pass
            except BaseException as exc:  # reported below
                errors.append(exc)

    for round_no in range(5):
        moment = now + timedelta(minutes=round_no * 61)
        barrier = threading.Barrier(len(logins))
        won: list[str] = []
        errors: list[BaseException] = []

        threads = [
            threading.Thread(target=reserve, args=(login, moment, barrier, won, errors))
            for login in logins
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert len(won) == 1, won
        with factory() as session:
            winner = session.exec(
                select(RoomReservation).where(
                    col(RoomReservation.released_at).is_(None), RoomReservation.room_id == room_id
                )
            ).one()
            room_release(
                session=session,
                staff=session.get(Staff, winner.staff_id),  # type: ignore[arg-type]
                reservation_id=winner.id,
                now=moment + timedelta(minutes=1),
            )
    with factory() as session:
        rows = sorted(
            session.exec(select(RoomReservation).where(RoomReservation.room_id == room_id)).all(),
            key=lambda r: r.starts_at,
        )
        assert len(rows) == 5
        for before, after in zip(rows, rows[1:], strict=False):
            assert (before.released_at or before.ends_at) <= after.starts_at
