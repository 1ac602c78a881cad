"""What a hallway display shows (issue 5, §31): calls, directions, waiting counts."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlmodel import Session

from tests.factories import (
    make_booking,
    make_call_event,
    make_ticket,
    next_working_moment,
    staff_by_login,
)
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import write_transaction
from visits.models import Ticket, TicketStatus
from visits.push import push_emit
from visits.queries.signage import (
    board_call,
    call_event_phrase,
    called_ticket,
    display_board,
    display_directory,
    floor_waiting,
    route_from,
)

_slots = itertools.count()


def _ticket(
    session: Session, calendar: WorkCalendar, staff_login: str = "ivanova", **kw: object
) -> Ticket:
    """A checked-in ticket for a booking at a free slot of that specialist."""
    service = {"ivanova": "land-lease", "lebedev": "property-lease", "popov": "land-free"}[
        staff_login
    ]
    n = next(_slots)
    starts_at = next_working_moment(calendar, days_ahead=1 + n // 4, hour=9 + n % 4, minute=0)
    booking = make_booking(
        session, calendar, staff_login=staff_login, service_code=service, starts_at=starts_at
    )
    return make_ticket(session, booking, **kw)


def test_route_written_for_the_spot_wins(office_config: OfficeConfig) -> None:
    spot = office_config.spot("f3-lift")
    direction = route_from(office_config, spot, room_number="305", floor=3)
    assert (direction.arrow, direction.glyph, direction.text) == (
        "right",
        "→",
        "направо, третья дверь слева",
    )
    assert route_from(office_config, spot, room_number="311", floor=3).glyph == "←"


def test_route_to_another_floor_goes_by_the_stairs(office_config: OfficeConfig) -> None:
    up = route_from(office_config, office_config.spot("f3-lift"), room_number="406", floor=4)
    assert (up.arrow, up.glyph, up.text) == ("up", "↑", "лестница на 4 этаж")
    assert up.then == "4 этаж, у лифта: направо, шестая дверь слева"
    down = route_from(office_config, office_config.spot("f3-lift"), room_number="104", floor=1)
    assert (down.glyph, down.text) == ("↓", "лестница на 1 этаж")
    assert down.then == "1 этаж, холл у входа: налево, вторая дверь справа"


def test_route_without_a_spot_is_the_lobby_route(office_config: OfficeConfig) -> None:
    direction = route_from(office_config, None, room_number="305", floor=3)
    assert direction.text == "Лифт на 3 этаж, направо, третья дверь слева."


def test_board_newest_first_one_line_per_ticket(session: Session, calendar: WorkCalendar) -> None:
    first = _ticket(session, calendar, "ivanova")
    second = _ticket(session, calendar, "lebedev")
    make_call_event(session, first)
    make_call_event(session, second)
    board = display_board(session, calendar, spot_key="f3-lift")
    assert [c.ticket_number for c in board.calls] == [second.number, first.number]
    call = board.calls[1]
    assert call.place == "кабинет 305, 3 этаж"
    assert call.direction.arrow == "right"
    assert board.calls[0].direction.text == "лестница на 4 этаж"
    assert call.phrase.startswith("Талон А ноль") and call.phrase.endswith("кабинет триста пять")
    assert call.announce
    assert board.last_event_id >= board.calls[0].event_id

    # A recall puts the ticket on top again, still as one line.
    recall = make_call_event(session, first, kind="ticket.recalled")
    board = display_board(session, calendar, spot_key="f3-lift")
    assert [c.ticket_number for c in board.calls] == [first.number, second.number]
    assert (board.calls[0].event_id, board.calls[0].kind) == (recall.id, "ticket.recalled")


def test_move_to_a_meeting_room_is_a_new_direction(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket = _ticket(session, calendar)
    make_call_event(session, ticket)
    moved = make_call_event(session, ticket, kind="ticket.moved", room_number="311")
    board = display_board(session, calendar, spot_key="f3-lift")
    assert len(board.calls) == 1
    call = board.calls[0]
    assert (call.event_id, call.room_word, call.room_number) == (moved.id, "переговорная", "311")
    assert call.direction.arrow == "left"
    assert call.phrase.endswith("пройдите в переговорную триста одиннадцать")
    # A transfer puts the ticket in another queue: the new direction stays for a while.
    with write_transaction(session):
        ticket.status = TicketStatus.WAITING
        session.add(ticket)
    board = display_board(session, calendar, spot_key="f3-lift")
    assert [c.room_number for c in board.calls] == ["311"]
    later = utcnow() + timedelta(minutes=16)
    assert display_board(session, calendar, spot_key="f3-lift", now=later).calls == []


def test_finished_and_returned_tickets_leave_the_board(
    session: Session, calendar: WorkCalendar
) -> None:
    done = _ticket(session, calendar, "ivanova")
    returned = _ticket(session, calendar, "lebedev")
    serving = _ticket(session, calendar, "popov")
    for ticket in (done, returned, serving):
        make_call_event(session, ticket)
    with write_transaction(session):
        done.status = TicketStatus.DONE
        returned.status = TicketStatus.WAITING
        serving.status = TicketStatus.IN_SERVICE
        session.add_all([done, returned, serving])
    board = display_board(session, calendar, spot_key="f2-stairs")
    assert [c.ticket_number for c in board.calls] == [serving.number]
    assert board.calls[0].direction.text == "направо, третья дверь слева"


def test_board_ignores_events_for_other_screens_and_older_days(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket = _ticket(session, calendar)
    with write_transaction(session):
        ticket.status = TicketStatus.CALLED
        push_emit(session, "ticket.called", [f"staff:{ticket.staff_id}"], ticket_id=ticket.id)
        old = push_emit(session, "ticket.called", ["displays"], ticket_id=ticket.id)
        old.at = utcnow() - timedelta(days=2)
        session.add(ticket)
    assert display_board(session, calendar, spot_key="f3-lift").calls == []


def test_board_size_and_old_calls_are_not_announced(
    session: Session, calendar: WorkCalendar
) -> None:
    tickets = [_ticket(session, calendar) for _ in range(7)]
    for ticket in tickets:
        make_call_event(session, ticket)
    board = display_board(
        session, calendar, spot_key="f3-lift", now=utcnow() + timedelta(minutes=5)
    )
    assert len(board.calls) == 5
    assert [c.ticket_number for c in board.calls] == [t.number for t in reversed(tickets)][:5]
    assert not any(c.announce for c in board.calls)


def test_waiting_count_per_floor(session: Session, calendar: WorkCalendar) -> None:
    today = calendar.today()
    for login in ("ivanova", "ivanova", "lebedev"):
        _ticket(session, calendar, login, office_day=today)
    _ticket(session, calendar, "popov", office_day=today - timedelta(days=1))
    called = _ticket(session, calendar, "popov", office_day=today)
    make_call_event(session, called)
    counts = {f.floor: (f.count, f.here) for f in floor_waiting(session, calendar, here=3)}
    assert counts == {1: (0, False), 2: (0, False), 3: (2, True), 4: (1, False)}


def test_directory_by_number_service_meeting_rooms_and_exit(
    session: Session, office_config: OfficeConfig
) -> None:
    directory = display_directory(session, office_config, spot_key="f2-stairs")
    numbers = [r.number for r in directory.rooms]
    assert numbers == ["101", "104", "203", "207", "212", "301", "305", "309", "402", "406", "410"]
    room_305 = next(r for r in directory.rooms if r.number == "305")
    assert room_305.title == "Аренда земельного участка; Арендная плата: расчёт и сверка"
    assert room_305.direction.text == "лестница на 3 этаж"
    assert next(r for r in directory.rooms if r.number == "203").direction.arrow == "right"
    lease = next(s for s in directory.services if s.letter == "А")
    assert (lease.name, lease.rooms) == ("Аренда земельного участка", ["301", "305"])
    assert [r.number for r in directory.meeting_rooms] == ["106", "311"]
    assert directory.exit is not None and directory.exit.text.startswith("лестница вниз")
    assert [len(p) for p in directory.room_pages()] == [6, 5]
    assert staff_by_login(session, "ivanova").surname not in repr(directory)


def test_call_event_phrase_only_for_display_calls(session: Session, calendar: WorkCalendar) -> None:
    ticket = _ticket(session, calendar)
    event = make_call_event(session, ticket, room_number="311", kind="ticket.moved")
    assert call_event_phrase(session, event_id=event.id).endswith(
        "в переговорную триста одиннадцать"
    )
    with write_transaction(session):
        other = push_emit(session, "ticket.called", ["staff:1"], ticket_id=ticket.id)
        finished = push_emit(session, "ticket.finished", ["displays"], ticket_id=ticket.id)
    assert call_event_phrase(session, event_id=other.id) is None
    assert call_event_phrase(session, event_id=finished.id) is None
    assert call_event_phrase(session, event_id=10**9) is None


def test_board_reads_past_a_page_of_ended_calls(session: Session, calendar: WorkCalendar) -> None:
    """The board reads call events a page at a time, and keeps reading until it has its lines."""
    waiting_long = _ticket(session, calendar, "lebedev")
    make_call_event(session, waiting_long)
    ended = [_ticket(session, calendar) for _ in range(25)]
    for ticket in ended:
        make_call_event(session, ticket)
    with write_transaction(session):
        for ticket in ended:
            ticket.status = TicketStatus.DONE
            session.add(ticket)
    board = display_board(session, calendar, spot_key="f3-lift")
    assert [c.ticket_number for c in board.calls] == [waiting_long.number]


def test_call_line_carries_what_the_display_draws(
    session: Session, calendar: WorkCalendar, office_config: OfficeConfig
) -> None:
    ticket = _ticket(session, calendar, "lebedev")
    event = make_call_event(session, ticket)
    called = called_ticket(session, event_id=event.id)
    assert called is not None
    call = board_call(office_config, office_config.spot("f3-lift"), called, utcnow())
    assert call is not None
    line = call.public()
    assert (line["ticket"], line["room"], line["floor"]) == (ticket.number, "402", 4)
    assert (line["arrow"], line["glyph"], line["route"]) == ("up", "↑", "лестница на 4 этаж")
    assert line["then"] == "4 этаж, у лифта: налево, вторая дверь справа"
    assert str(line["phrase"]).endswith("пройдите в кабинет четыреста два")
    assert line["announce"] is True and line["ticket_id"] == ticket.id
    # Public text only: the line has no field a name or a phone could travel in.
    assert set(line) == {
        "event_id", "kind", "ticket_id", "ticket", "room", "room_word", "floor",
        "arrow", "glyph", "arrow_word", "route", "then", "phrase", "announce",
    }  # fmt: skip
    with write_transaction(session):
        ticket.status = TicketStatus.DONE
        session.add(ticket)
    ended = called_ticket(session, event_id=event.id)
    assert ended is not None
    assert board_call(office_config, None, ended, utcnow()) is None
    staff_only = _ticket(session, calendar)
    with write_transaction(session):
        other = push_emit(session, "ticket.called", ["staff:1"], ticket_id=staff_only.id)
    assert called_ticket(session, event_id=other.id or 0) is None


def test_a_call_events_facts_read_alone_are_what_the_board_reads(
    session: Session, calendar: WorkCalendar
) -> None:
    """called_ticket (each process, once per call event) reads by Core statements of its own:
    it gives what the board's read gives, with the event's room or else the ticket's."""
    from sqlmodel import select

    from visits.models import PushEvent, Room
    from visits.queries.signage import _called_tickets

    ticket = _ticket(session, calendar, "lebedev")
    event = make_call_event(session, ticket)
    meeting = session.exec(select(Room).where(Room.kind == "meeting")).first()
    assert meeting is not None and meeting.id != ticket.room_id
    with write_transaction(session):
        moved = push_emit(
            session, "ticket.moved", ["displays"], ticket_id=ticket.id, room_id=meeting.id
        )
        without_room = push_emit(session, "ticket.recalled", ["displays"], ticket_id=ticket.id)
    for sent in (event, moved, without_room):
        row = session.get(PushEvent, sent.id)
        assert row is not None
        alone = called_ticket(session, event_id=sent.id)
        assert alone is not None and [alone] == _called_tickets(session, [row])
    assert called_ticket(session, event_id=moved.id).room_number == meeting.number  # type: ignore[union-attr]
    assert called_ticket(session, event_id=10**9) is None
