"""What every queue action shares: the locks, the ownership check, the topics pushed to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, ScalarSelect, Select, Update, bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

from visits.db import for_update
from visits.errors import Conflict, NotFound
from visits.models import (
    Booking,
    Client,
    PushEvent,
    Room,
    RoomReservation,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.push import push_emit
from visits.queries.today import CalledRead
from visits.rules import ACTIVE

STATUS_PHRASES = {
    TicketStatus.WAITING: "ждёт вызова",
    TicketStatus.CALLED: "уже вызван",
    TicketStatus.IN_SERVICE: "уже на приёме",
    TicketStatus.DONE: "уже принят, приём завершён",
    TicketStatus.NO_SHOW: "уже отмечен как неявка",
}


@dataclass(frozen=True)
class TicketChange:
    """A ticket after an action, and the action's pushed event.

    The event's id, set at commit, lets the actor's own screen know the event's echo.
    """

    ticket: Ticket
    event: PushEvent
    # A start: the ticket's client and what the day shows of its row, read with the start.
    client: Client | None = None
    read: CalledRead | None = None


def ticket_topics(ticket: Ticket, *extra: str) -> list[str]:
    """Return the push topics of a ticket's change: displays, its specialist, administrators."""
    topics = ["displays", f"staff:{ticket.staff_id}", "admin", *extra]
    return list(dict.fromkeys(topics))


def ticket_back_to_waiting(ticket: Ticket) -> None:
    """Put the ticket back in a waiting list: the call and the service so far are undone."""
    ticket.status = TicketStatus.WAITING
    ticket.called_at = None
    ticket.called_by_staff_id = None
    ticket.recall_count = 0
    ticket.started_at = None


def ticket_push(session: Session, kind: str, ticket: Ticket, *extra_topics: str) -> PushEvent:
    """Tell the displays and panels that show a ticket of its change, with its room now.

    The event's id is set when the transaction commits.
    """
    return push_emit(
        session,
        kind,
        ticket_topics(ticket, *extra_topics),
        ticket_id=ticket.id,
        room_id=ticket.room_id,
    )


def active_number_of_staff() -> ScalarSelect[str]:
    """The number of the specialist's (`staff_id`) called or served ticket, if any."""
    active = aliased(Ticket)
    return (
        sa_select(col(active.number))
        .where(col(active.staff_id) == bindparam("staff_id"), col(active.status).in_(ACTIVE))
        .limit(1)
        .scalar_subquery()
    )


# Built once: every call runs them, under the write lock.
_STAFF_ROW_LOCK = select(Staff.id).where(Staff.id == bindparam("staff_id")).with_for_update()
_ACTIVE_NUMBER = sa_select(active_number_of_staff())


# UPDATE ... WHERE id = :row_key, built once per table (row_write()).
_UPDATES: dict[str, Update] = {}


def row_write(session: Session, row: Ticket | Booking, **values: Any) -> None:
    """Set a locked row's columns now, by one Core UPDATE, and the object as the row is.

    The ORM's unit of work for one changed ticket at commit cost a call about a tenth of
    its Python; the object keeps the values as committed, so nothing is flushed again.
    """
    table = type(row).__table__  # type: ignore[union-attr]
    statement = _UPDATES.get(table.name)
    if statement is None:
        statement = _UPDATES[table.name] = update(table).where(table.c.id == bindparam("row_key"))
    session.connection().execute(statement, {"row_key": row.id, **values})
    for key, value in values.items():
        set_committed_value(row, key, value)


def staff_locked(session: Session, staff: Staff) -> None:
    """Serialise one specialist's claims: her row locked (PostgreSQL).

    On SQLite the write transaction (BEGIN IMMEDIATE) already holds the only write
    lock, so there is nothing to read.
    """
    if for_update(session):
        session.exec(_STAFF_ROW_LOCK, params={"staff_id": staff.id}).one()


# A ticket's read for change, by whether the database locks rows (ticket_reads()).
TicketReads = dict[bool, Select[*tuple[Any, ...]]]


def ticket_reads(
    *joined: tuple[type[SQLModel], ColumnElement[bool]],
    outer: tuple[type[SQLModel], ColumnElement[bool]] | None = None,
    columns: tuple[ColumnElement[Any], ...] = (),
) -> TicketReads:
    """A ticket's read for change by its id (`ticket_id`), with the rows `joined` to it (each
    model and its ON clause), the `outer` one if any, and more `columns`, built once: by
    whether the database locks rows (PostgreSQL: FOR UPDATE of the ticket's row only)."""
    models = [model for model, _on in (*joined, *([outer] if outer else []))]
    stmt: Select[*tuple[Any, ...]] = sa_select(Ticket, *models, *columns)
    for model, on in joined:
        stmt = stmt.join(model, on)
    if outer is not None:
        stmt = stmt.outerjoin(*outer)
    stmt = stmt.where(col(Ticket.id) == bindparam("ticket_id")).execution_options(
        populate_existing=True
    )
    return {False: stmt, True: stmt.with_for_update(of=Ticket)}


_TICKET_READS = ticket_reads()


def ticket_locked(session: Session, ticket_id: int) -> Ticket:
    """Read a ticket for change, locked where the database can (PostgreSQL: FOR UPDATE)."""
    ticket: Ticket = ticket_locked_with(session, ticket_id, _TICKET_READS)[0]
    return ticket


def ticket_locked_with(
    session: Session, ticket_id: int, reads: TicketReads, **params: Any
) -> Row[*tuple[Any, ...]]:
    """Read a ticket for change with the rows its `reads` (ticket_reads()) join to it;
    `params` are the other parameters of the read."""
    found = session.execute(reads[for_update(session)], {"ticket_id": ticket_id, **params}).first()
    if found is None:
        raise NotFound("Талон не найден. Список обновлён.")
    return found


def ticket_changed(ticket: Ticket) -> Conflict:
    """Return the Conflict that says what became of a ticket meanwhile."""
    phrase = STATUS_PHRASES.get(ticket.status, "изменился")
    return Conflict(f"Талон {ticket.number} {phrase}. Список обновлён.", code="ticket_changed")


def own_ticket(session: Session, staff: Staff, ticket_id: int, *statuses: str) -> Ticket:
    """Lock a ticket of this specialist in one of `statuses`, or explain what changed."""
    ticket: Ticket = own_ticket_with(session, staff, ticket_id, _TICKET_READS, *statuses)[0]
    return ticket


def own_ticket_with(
    session: Session,
    staff: Staff,
    ticket_id: int,
    reads: TicketReads,
    *statuses: str,
    **params: Any,
) -> Row[*tuple[Any, ...]]:
    """As own_ticket(), with the rows its `reads` (ticket_reads()) join to the ticket."""
    found = ticket_locked_with(session, ticket_id, reads, **params)
    ticket: Ticket = found[0]
    if ticket.staff_id != staff.id:
        raise Conflict(
            f"Талон {ticket.number} передан другому специалисту. Список обновлён.",
            code="ticket_changed",
        )
    if statuses and ticket.status not in statuses:
        raise ticket_changed(ticket)
    return found


def staff_busy(number: str) -> Conflict:
    """Return the Conflict of a call while the specialist's ticket `number` is current."""
    return Conflict(
        f"Сначала завершите приём по талону {number} или верните его в очередь.", code="busy"
    )


def staff_ensure_free(session: Session, staff: Staff) -> None:
    """Refuse a call while the specialist still has a called or served ticket."""
    busy = session.execute(_ACTIVE_NUMBER, params={"staff_id": staff.id}).scalar()
    if busy is not None:
        raise staff_busy(busy)


def ticket_client(session: Session, ticket: Ticket) -> Client:
    """Return the ticket's client."""
    client = session.get(Client, ticket.client_id)
    assert client is not None
    return client


def room_of(session: Session, room_id: int) -> Room:
    """Return a room that must exist."""
    room = session.get(Room, room_id)
    assert room is not None
    return room


def ticket_booking(session: Session, ticket: Ticket) -> Booking:
    """Return the ticket's booking."""
    booking = session.get(Booking, ticket.booking_id)
    assert booking is not None
    return booking


def reservations_release(
    session: Session, ticket: Ticket, now: datetime, *, move_back: bool = True
) -> None:
    """End the ticket's meeting-room reservation when the visit leaves the room (§35)."""
    rows = session.exec(
        select(RoomReservation).where(
            RoomReservation.ticket_id == ticket.id,
            col(RoomReservation.released_at).is_(None),
        )
    ).all()
    for reservation in rows:
        reservation.released_at = now
        session.add(reservation)
        if move_back and reservation.from_room_id and ticket.room_id == reservation.room_id:
            ticket.room_id = reservation.from_room_id
            session.add(ticket)
