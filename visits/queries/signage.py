"""What a hallway display may show: calls, waiting counts, directions (§31).

A public screen: ticket numbers, rooms and floors only. Nothing here reads a
client's name, phone or the service detail of a visit (personal data law);
the tests scan every signage response for the seeded clients' data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import func
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


def _newest_calls(session: Session, calendar: WorkCalendar) -> dict[int, PushEvent]:
    """Today's newest call event for the displays of each ticket, newest ticket first."""
    events = session.exec(
        select(PushEvent)
        .where(col(PushEvent.kind).in_(CALL_KINDS), PushEvent.at >= _day_start(calendar))
        .order_by(col(PushEvent.id).desc())
        .limit(300)
    ).all()
    newest_per_ticket: dict[int, PushEvent] = {}
    for event in events:
        ticket_id = event.payload.get("ticket_id")
        if DISPLAYS_TOPIC in event.topics and isinstance(ticket_id, int):
            newest_per_ticket.setdefault(ticket_id, event)
    return newest_per_ticket


def _board_calls(
    session: Session, calendar: WorkCalendar, spot: Spot | None, now: datetime, size: int
) -> list[BoardCall]:
    rooms = {room.id: room for room in session.exec(select(Room)).all()}
    newest_per_ticket = _newest_calls(session, calendar)
    tickets = {
        t.id: t
        for t in session.exec(
            select(Ticket).where(col(Ticket.id).in_(list(newest_per_ticket)))
        ).all()
    }
    calls: list[BoardCall] = []
    for ticket_id, event in newest_per_ticket.items():
        ticket = tickets.get(ticket_id)
        age = max(0, int((now - event.at).total_seconds()))
        if ticket is None or not _still_on_board(ticket, event.kind, age):
            continue
        room_id = event.payload.get("room_id")
        room = rooms.get(room_id if isinstance(room_id, int) else ticket.room_id)
        if room is None or event.id is None:
            continue
        calls.append(
            BoardCall(
                event_id=event.id,
                kind=event.kind,
                ticket_number=ticket.number,
                room_number=room.number,
                room_word=room_word(room.kind),
                floor=room.floor,
                direction=route_from(
                    calendar.config, spot, room_number=room.number, floor=room.floor
                ),
                at=event.at,
                phrase=call_phrase(
                    ticket.number, room.number, meeting_room=room.kind == RoomKind.MEETING
                ),
                age_seconds=age,
            )
        )
        if len(calls) == size:
            break
    return calls


def _still_on_board(ticket: Ticket, kind: str, age_seconds: int) -> bool:
    if kind == "ticket.moved" and ticket.status == TicketStatus.WAITING:
        # A transfer puts the ticket in another queue: the visitor needs the new room
        # for a while, not for the whole wait.
        return age_seconds <= MOVED_WAITING_SECONDS
    return ticket.status in (TicketStatus.CALLED, TicketStatus.IN_SERVICE)


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
