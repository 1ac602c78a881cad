"""What a hallway display may show: calls, waiting counts, directions (§31).

A public screen: ticket numbers, rooms and floors only. Nothing here reads a
client's name, phone or the service detail of a visit (personal data law);
the tests scan every signage response for the seeded clients' data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import Integer, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig, Spot
from visits.models import (
    PushEvent,
    Room,
    RoomKind,
    Service,
    Staff,
    StaffService,
    Ticket,
    TicketStatus,
)
from visits.speech import call_phrase

DISPLAYS_TOPIC = "displays"
# Events that send a visitor somewhere: each is announced once by each display.
CALL_KINDS = ("ticket.called", "ticket.recalled", "ticket.moved")
# A call older than this is shown, not spoken, after a display comes back online.
ANNOUNCE_WITHIN_SECONDS = 120
# A transferred ticket waiting in its new queue keeps its new direction this long.
MOVED_WAITING_SECONDS = 15 * 60
BOARD_SIZE = 5
DIRECTORY_PAGE_ROOMS = 6

ARROW_GLYPHS = {
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "ahead": "↑",
    "back": "↓",
    "here": "●",
}
ARROW_WORDS = {
    "left": "налево",
    "right": "направо",
    "up": "наверх",
    "down": "вниз",
    "ahead": "прямо",
    "back": "назад",
    "here": "здесь",
}


@dataclass(frozen=True)
class Direction:
    """An arrow and a short route from where the display hangs."""

    arrow: str
    text: str
    # Where to continue after a change of floor: "4 этаж, у лифта: налево, ...".
    then: str = ""

    @property
    def glyph(self) -> str:
        return ARROW_GLYPHS.get(self.arrow, "↑")

    @property
    def arrow_word(self) -> str:
        return ARROW_WORDS.get(self.arrow, "")


@dataclass(frozen=True)
class BoardCall:
    """One line of the board: a ticket sent to a room."""

    event_id: int
    kind: str
    ticket_id: int
    ticket_number: str
    room_number: str
    room_word: str
    floor: int
    direction: Direction
    at: datetime
    phrase: str
    age_seconds: int

    @property
    def place(self) -> str:
        """ "кабинет 305, 3 этаж"."""
        return f"{self.room_word} {self.room_number}, {self.floor} этаж"

    @property
    def announce(self) -> bool:
        return self.age_seconds <= ANNOUNCE_WITHIN_SECONDS

    def public(self) -> dict[str, object]:
        """The line as the display's push event carries it: what the screen draws and says.

        Public text only (§31): the ticket number, the room, the floor, the way from
        the display's spot and the announcement. Never a name.
        """
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "ticket_id": self.ticket_id,
            "ticket": self.ticket_number,
            "room": self.room_number,
            "room_word": self.room_word,
            "floor": self.floor,
            "arrow": self.direction.arrow,
            "glyph": self.direction.glyph,
            "arrow_word": self.direction.arrow_word,
            "route": self.direction.text,
            "then": self.direction.then,
            "phrase": self.phrase,
            "announce": self.announce,
        }


@dataclass(frozen=True)
class CalledTicket:
    """What a call event sends a visitor to, before the route from a spot is added."""

    event_id: int
    kind: str
    at: datetime
    ticket_id: int
    ticket_number: str
    status: TicketStatus
    room_number: str
    room_kind: str
    floor: int


@dataclass(frozen=True)
class FloorWaiting:
    floor: int
    name: str
    count: int
    here: bool


@dataclass(frozen=True)
class Board:
    spot: Spot | None
    calls: list[BoardCall]
    waiting: list[FloorWaiting]
    exit: Direction | None
    last_event_id: int
    now: datetime


@dataclass(frozen=True)
class DirectoryRoom:
    number: str
    word: str
    floor: int
    title: str
    direction: Direction


@dataclass(frozen=True)
class DirectoryService:
    letter: str
    name: str
    rooms: list[str]


@dataclass(frozen=True)
class Directory:
    """The idle screen: rooms by number and by service, meeting rooms, the exit."""

    rooms: list[DirectoryRoom]
    services: list[DirectoryService]
    meeting_rooms: list[DirectoryRoom]
    exit: Direction | None

    def room_pages(self, size: int = DIRECTORY_PAGE_ROOMS) -> list[list[DirectoryRoom]]:
        return [self.rooms[i : i + size] for i in range(0, len(self.rooms), size)]


def room_word(kind: str) -> str:
    """ "кабинет" or "переговорная", as Room.place says it."""
    return "переговорная" if kind == RoomKind.MEETING else "кабинет"


def route_from(
    config: OfficeConfig, spot: Spot | None, *, room_number: str, floor: int
) -> Direction:
    """The way from a display's spot to a room (§31), from the config's routes.

    A route written for the spot wins. A room on another floor gets the
    stairs up or down, then the route from that floor's display spot.
    Without a spot the lobby route of the room is shown.
    """
    if spot is None:
        room = next((r for r in config.rooms if r.number == room_number), None)
        return Direction("ahead", room.route if room else f"{floor} этаж")
    route = spot.routes.get(room_number)
    if route is not None:
        return Direction(route.arrow, route.text)
    if floor != spot.floor:
        onward = next(
            (s for s in config.spots if s.floor == floor and room_number in s.routes), None
        )
        then = f"{onward.name}: {onward.routes[room_number].text}" if onward else ""
        return Direction("up" if floor > spot.floor else "down", f"лестница на {floor} этаж", then)
    return Direction("ahead", "на этом этаже, номер на двери")


def _day_start(calendar: WorkCalendar) -> datetime:
    return calendar.at(calendar.today(), time(0, 0)).astimezone(UTC)


def display_board(
    session: Session,
    calendar: WorkCalendar,
    *,
    spot_key: str | None,
    now: datetime | None = None,
    size: int = BOARD_SIZE,
) -> Board:
    """The calls to show (newest first, one line per ticket) and the waiting counts."""
    config = calendar.config
    now = now or utcnow()
    spot = config.spot(spot_key) if spot_key else None
    calls = _board_calls(session, calendar, spot, now, size)
    latest = session.exec(select(func.max(PushEvent.id))).one() or 0
    return Board(
        spot=spot,
        calls=calls,
        waiting=floor_waiting(session, calendar, here=spot.floor if spot else None),
        exit=Direction(spot.exit_route.arrow, spot.exit_route.text)
        if spot and spot.exit_route
        else None,
        last_event_id=latest,
        now=now,
    )


# Call events are read newest first in pages of this many: five board lines usually
# come from the newest few calls; a quiet hour after a busy one needs another page.
_CALL_PAGE = 20
# No more call events than this are looked at for one board (the day's newest).
_CALL_SCAN_LIMIT = 300


def _board_calls(
    session: Session, calendar: WorkCalendar, spot: Spot | None, now: datetime, size: int
) -> list[BoardCall]:
    """The newest line per ticket still on the board, newest first, `size` at most.

    Call events are read a page at a time, with only their tickets and rooms, until
    the board is full: the board is five lines, and reading the day's last 300
    events with their tickets for every display's fetch was most of its cost.
    """
    calls: list[BoardCall] = []
    seen: set[int] = set()
    before: int | None = None
    scanned = 0
    while len(calls) < size and scanned < _CALL_SCAN_LIMIT:
        stmt = select(PushEvent).where(
            col(PushEvent.kind).in_(CALL_KINDS), PushEvent.at >= _day_start(calendar)
        )
        if before is not None:
            stmt = stmt.where(col(PushEvent.id) < before)
        page = session.exec(stmt.order_by(col(PushEvent.id).desc()).limit(_CALL_PAGE)).all()
        if not page:
            break
        scanned += len(page)
        before = page[-1].id
        fresh: list[PushEvent] = []
        for event in page:
            ticket_id = event.payload.get("ticket_id")
            if not isinstance(ticket_id, int) or DISPLAYS_TOPIC not in event.topics:
                continue
            if ticket_id not in seen:
                seen.add(ticket_id)
                fresh.append(event)
        for called in _called_tickets(session, fresh):
            call = board_call(calendar.config, spot, called, now)
            if call is not None:
                calls.append(call)
                if len(calls) == size:
                    break
        if len(page) < _CALL_PAGE:
            break
    return calls


def _called_tickets(session: Session, events: list[PushEvent]) -> list[CalledTicket]:
    """The public facts of call events (in their order), with two queries for all of them."""
    if not events:
        return []
    ticket_ids = [int(event.payload["ticket_id"]) for event in events]
    tickets = {
        row[0]: row
        for row in session.exec(
            select(Ticket.id, Ticket.number, Ticket.status, Ticket.room_id).where(
                col(Ticket.id).in_(ticket_ids)
            )
        ).all()
    }
    room_of_event: dict[int, int] = {}
    for event in events:
        ticket = tickets.get(int(event.payload["ticket_id"]))
        room_id = event.payload.get("room_id")
        if ticket is not None and event.id is not None:
            room_of_event[event.id] = room_id if isinstance(room_id, int) else ticket[3]
    rooms = {
        row[0]: row
        for row in session.exec(
            select(Room.id, Room.number, Room.kind, Room.floor).where(
                col(Room.id).in_(set(room_of_event.values()))
            )
        ).all()
    }
    found: list[CalledTicket] = []
    for event in events:
        if event.id is None or event.id not in room_of_event:
            continue
        ticket = tickets[int(event.payload["ticket_id"])]
        room = rooms.get(room_of_event[event.id])
        if room is None:
            continue
        found.append(
            CalledTicket(
                event_id=event.id,
                kind=event.kind,
                at=event.at,
                ticket_id=int(event.payload["ticket_id"]),
                ticket_number=ticket[1],
                status=TicketStatus(ticket[2]),
                room_number=room[1],
                room_kind=room[2],
                floor=room[3],
            )
        )
    return found


# One call event and then its ticket with the room it sends to (the event's room, else the
# ticket's), as plain rows by Core statements built once: every process reads this once per
# call event for its streams, under the hub's lock (ORM objects cost that read most of it).
_EVENTS = PushEvent.__table__  # type: ignore[attr-defined]
_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_ROOMS = Room.__table__  # type: ignore[attr-defined]
_CALL_EVENT = sa_select(_EVENTS.c.kind, _EVENTS.c.topics, _EVENTS.c.payload, _EVENTS.c.at).where(
    _EVENTS.c.id == bindparam("event_id")
)
_CALLED_TICKET = (
    sa_select(_TICKETS.c.number, _TICKETS.c.status, _ROOMS.c.number, _ROOMS.c.kind, _ROOMS.c.floor)
    .select_from(
        _TICKETS.join(
            _ROOMS,
            _ROOMS.c.id == func.coalesce(bindparam("room_id", type_=Integer), _TICKETS.c.room_id),
        )
    )
    .where(_TICKETS.c.id == bindparam("ticket_id"))
)


def called_ticket(session: Session, *, event_id: int) -> CalledTicket | None:
    """The public facts of one call event addressed to displays, or None if it is not one."""
    connection = session.connection()
    event = connection.execute(_CALL_EVENT, {"event_id": event_id}).first()
    if event is None:
        return None
    kind, topics, payload, at = event
    if kind not in CALL_KINDS or DISPLAYS_TOPIC not in topics:
        return None
    ticket_id, room_id = payload.get("ticket_id"), payload.get("room_id")
    if not isinstance(ticket_id, int):
        return None
    found = connection.execute(
        _CALLED_TICKET,
        {"ticket_id": ticket_id, "room_id": room_id if isinstance(room_id, int) else None},
    ).first()
    if found is None:
        return None
    number, status, room_number, room_kind, floor = found
    return CalledTicket(
        event_id=event_id,
        kind=kind,
        at=at,
        ticket_id=ticket_id,
        ticket_number=number,
        status=TicketStatus(status),
        room_number=room_number,
        room_kind=room_kind,
        floor=floor,
    )


def board_call(
    config: OfficeConfig, spot: Spot | None, called: CalledTicket, now: datetime
) -> BoardCall | None:
    """The board line of a call as seen from `spot`, or None when it is no longer shown."""
    age = max(0, int((now - called.at).total_seconds()))
    if not call_shown(called, age):
        return None
    meeting = called.room_kind == RoomKind.MEETING
    return BoardCall(
        event_id=called.event_id,
        kind=called.kind,
        ticket_id=called.ticket_id,
        ticket_number=called.ticket_number,
        room_number=called.room_number,
        room_word=room_word(called.room_kind),
        floor=called.floor,
        direction=route_from(config, spot, room_number=called.room_number, floor=called.floor),
        at=called.at,
        phrase=call_phrase(called.ticket_number, called.room_number, meeting_room=meeting),
        age_seconds=age,
    )


def call_shown(called: CalledTicket, age_seconds: int) -> bool:
    """Whether a call still has its line on the board, `age_seconds` after it."""
    if called.kind == "ticket.moved" and called.status == TicketStatus.WAITING:
        # A transfer puts the ticket in another queue: the visitor needs the new room
        # for a while, not for the whole wait.
        return age_seconds <= MOVED_WAITING_SECONDS
    return called.status in (TicketStatus.CALLED, TicketStatus.IN_SERVICE)


def floor_waiting(
    session: Session, calendar: WorkCalendar, *, here: int | None
) -> list[FloorWaiting]:
    """Tickets waiting today on each floor (the floor of the room they wait for)."""
    counts: dict[int, int] = defaultdict(int)
    rows = session.exec(
        select(Room.floor, func.count(col(Ticket.id)))
        .join(Room, col(Room.id) == col(Ticket.room_id))
        .where(Ticket.status == TicketStatus.WAITING, Ticket.office_day == calendar.today())
        .group_by(col(Room.floor))
    ).all()
    for floor, count in rows:
        counts[floor] = count
    return [
        FloorWaiting(floor=f.number, name=f.name, count=counts[f.number], here=f.number == here)
        for f in calendar.config.floors
    ]


def display_directory(session: Session, config: OfficeConfig, *, spot_key: str | None) -> Directory:
    """Rooms by number and by service, meeting rooms and the exit, seen from the spot."""
    spot = config.spot(spot_key) if spot_key else None
    rooms = session.exec(
        select(Room).where(col(Room.active).is_(True)).order_by(col(Room.floor), col(Room.number))
    ).all()
    links = session.exec(
        select(Staff.room_id, Service.letter, Service.name)
        .join(StaffService, col(StaffService.staff_id) == col(Staff.id))
        .join(Service, col(Service.id) == col(StaffService.service_id))
        .where(col(Staff.active).is_(True), col(Service.active).is_(True))
        .order_by(Service.letter)
    ).all()
    services_in_room: dict[int, list[str]] = defaultdict(list)
    rooms_of_service: dict[tuple[str, str], list[str]] = defaultdict(list)
    number_of = {room.id: room.number for room in rooms}
    for room_id, letter, name in links:
        if room_id is None or room_id not in number_of:
            continue
        if name not in services_in_room[room_id]:
            services_in_room[room_id].append(name)
        if number_of[room_id] not in rooms_of_service[(letter, name)]:
            rooms_of_service[(letter, name)].append(number_of[room_id])

    def entry(room: Room) -> DirectoryRoom:
        assert room.id is not None
        title = room.name or "; ".join(services_in_room[room.id])
        return DirectoryRoom(
            number=room.number,
            word=room_word(room.kind),
            floor=room.floor,
            title=title,
            direction=route_from(config, spot, room_number=room.number, floor=room.floor),
        )

    return Directory(
        rooms=[entry(r) for r in rooms if r.kind != RoomKind.MEETING],
        services=[
            DirectoryService(letter=letter, name=name, rooms=sorted(numbers))
            for (letter, name), numbers in sorted(rooms_of_service.items())
        ],
        meeting_rooms=[entry(r) for r in rooms if r.kind == RoomKind.MEETING],
        exit=Direction(spot.exit_route.arrow, spot.exit_route.text)
        if spot and spot.exit_route
        else None,
    )


def call_event_phrase(session: Session, *, event_id: int) -> str | None:
    """The spoken phrase of a call event addressed to displays, or None if it is not one."""
    event = session.get(PushEvent, event_id)
    if event is None or event.kind not in CALL_KINDS or DISPLAYS_TOPIC not in event.topics:
        return None
    ticket_id = event.payload.get("ticket_id")
    ticket = session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        return None
    room_id = event.payload.get("room_id")
    room = session.get(Room, room_id if isinstance(room_id, int) else ticket.room_id)
    if room is None:
        return None
    return call_phrase(ticket.number, room.number, meeting_room=room.kind == RoomKind.MEETING)
