"""Meeting rooms for a tense conversation (§35) and inviting a colleague (§35.3).

Two reservations of one room never overlap: the room's row is locked first
(SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite holds the
database's write lock), and only then are the room's reservations checked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, NotFound
from visits.models import (
    Client,
    ColleagueInvite,
    HistoryKind,
    Role,
    Room,
    RoomKind,
    RoomReservation,
    Staff,
    Ticket,
)
from visits.notify.outbox import room_change_queue
from visits.push import push_emit
from visits.ru import by_gender_of
from visits.rules import ACTIVE, room_move_announced
from visits.services.history import audit_record, ticket_event_record
from visits.services.queue import STATUS_PHRASES, ticket_locked

log = logging.getLogger(__name__)

RESERVE_MINUTES = (15, 30, 60)
# §35.4: what the specialist reads after taking a room; the move itself is discreet.
ROOM_RESERVED_NOTICE = (
    "Переговорная занята за вами. Проводите посетителя туда сами: табло, голосовое "
    "объявление и сообщения о переходе не сообщают. Посетителя, который ещё не вошёл "
    "в кабинет, табло направит в переговорную."
)


def _locked_room(session: Session, room_id: int) -> Room:
    stmt = select(Room).where(Room.id == room_id).execution_options(populate_existing=True)
    if for_update(session):
        stmt = stmt.with_for_update()
    room = session.exec(stmt).first()
    if room is None or room.kind != RoomKind.MEETING or not room.active:
        raise InvalidInput("Выберите переговорную из списка.", field="room")
    return room


def _active_reservation(session: Session, ticket_id: int, now: datetime) -> RoomReservation | None:
    return session.exec(
        select(RoomReservation).where(
            RoomReservation.ticket_id == ticket_id,
            col(RoomReservation.released_at).is_(None),
            col(RoomReservation.ends_at) > now,
        )
    ).first()


def room_overlapping(
    session: Session, room_id: int, starts_at: datetime, ends_at: datetime
) -> RoomReservation | None:
    """The room's unreleased reservation that overlaps [starts_at, ends_at), if any."""
    return session.exec(
        select(RoomReservation)
        .where(
            RoomReservation.room_id == room_id,
            col(RoomReservation.released_at).is_(None),
            col(RoomReservation.starts_at) < ends_at,
            col(RoomReservation.ends_at) > starts_at,
        )
        .order_by(col(RoomReservation.starts_at))
    ).first()


def room_reserve(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    room_id: int,
    minutes: int,
    now: datetime | None = None,
) -> RoomReservation:
    """Reserve a free meeting room from now for 15, 30 or 60 minutes and move the ticket there (§35)."""
    now = now or utcnow()
    if minutes not in RESERVE_MINUTES:
        raise InvalidInput("Выберите 15, 30 или 60 минут.", field="minutes")
    with write_transaction(session):
        # The room first: its lock is what keeps two reservations from overlapping.
        room = _locked_room(session, room_id)
        ticket = _ticket_for_room(session, staff, ticket_id)
        _refuse_second_room(session, ticket, now)
        ends_at = now + timedelta(minutes=minutes)
        taken = room_overlapping(session, room_id, now, ends_at)
        if taken is not None:
            raise Conflict(
                f"Переговорная {room.number} занята до "
                f"{calendar.to_local(taken.ends_at):%H:%M}. Выберите другую.",
                code="room_taken",
            )
        assert room.id is not None
        reservation = RoomReservation(
            room_id=room.id,
            ticket_id=ticket.id,
            staff_id=staff.id or 0,
            starts_at=now,
            ends_at=ends_at,
            from_room_id=ticket.room_id,
        )
        session.add(reservation)
        ticket.room_id = room.id
        session.add(ticket)
        session.flush()
        _reservation_announce(session, staff, ticket, room, reservation, minutes)
    log.info("room %s reserved by %s for ticket %s", room.number, staff.login, ticket.number)
    return reservation


def _ticket_for_room(session: Session, staff: Staff, ticket_id: int) -> Ticket:
    """Lock the specialist's own called or served ticket, or explain what changed."""
    ticket = ticket_locked(session, ticket_id)
    if ticket.staff_id != staff.id:
        raise Conflict(
            f"Талон {ticket.number} передан другому специалисту. Список обновлён.",
            code="ticket_changed",
        )
    if ticket.status not in ACTIVE:
        raise Conflict(
            f"Талон {ticket.number} {STATUS_PHRASES.get(ticket.status, 'изменился')}. "
            "В переговорную можно перейти с вызванным или принимаемым посетителем.",
            code="ticket_changed",
        )
    return ticket


def _refuse_second_room(session: Session, ticket: Ticket, now: datetime) -> None:
    """Refuse a second meeting room while the ticket still holds one."""
    assert ticket.id is not None
    current = _active_reservation(session, ticket.id, now)
    if current is not None:
        held = session.get(Room, current.room_id)
        raise Conflict(
            f"Талон {ticket.number} уже в переговорной {held.number if held else ''}. "
            "Освободите её, чтобы выбрать другую.",
            code="already_moved",
        )


def _reservation_announce(
    session: Session,
    staff: Staff,
    ticket: Ticket,
    room: Room,
    reservation: RoomReservation,
    minutes: int,
) -> None:
    """Record the move (§4) and tell the screens concerned; the displays only when allowed.

    §35.4: a move during the visit is announced nowhere and messaged to nobody
    (`room_move_announced`); the specialist's and the administrator's panels still refresh.
    """
    client = session.get(Client, ticket.client_id)
    assert client is not None
    summary = (
        f"Талон {ticket.number}: разговор перенесён {room.place_to} "
        f"на {minutes} минут. Специалист {staff.full_name}."
    )
    ticket_event_record(
        session,
        ticket=ticket,
        staff=staff,
        kind=HistoryKind.MEETING_ROOM,
        summary=summary,
        action="room.reserve",
        data={"reservation_id": reservation.id, "minutes": minutes},
    )
    announced = room_move_announced(ticket)
    if announced:
        room_change_queue(session, client=client, ticket=ticket, room=room, staff=staff)
    push_emit(
        session,
        "ticket.moved",
        _move_topics(ticket, announced),
        ticket_id=ticket.id,
        room_id=room.id,
    )


def _move_topics(ticket: Ticket, announced: bool) -> list[str]:
    """The panels always; the hallway displays (chime, voice) only for an announced move."""
    return (["displays"] if announced else []) + [f"staff:{ticket.staff_id}", "admin"]


def room_release(
    *, session: Session, staff: Staff, reservation_id: int, now: datetime | None = None
) -> RoomReservation:
    """End a reservation; an active ticket goes back to the specialist's room."""
    now = now or utcnow()
    with write_transaction(session):
        reservation = session.exec(
            select(RoomReservation)
            .where(RoomReservation.id == reservation_id)
            .execution_options(populate_existing=True)
        ).first()
        if reservation is None:
            raise NotFound("Бронь переговорной не найдена.")
        if reservation.staff_id != staff.id and not staff.has_role(Role.ADMINISTRATOR):
            raise Forbidden("Освободить переговорную может тот, кто её занял, или администратор.")
        if reservation.released_at is not None:
            raise Conflict("Переговорная уже освобождена. Список обновлён.", code="released")
        _locked_room(session, reservation.room_id)
        reservation.released_at = now
        session.add(reservation)
        room = session.get(Room, reservation.room_id)
        assert room is not None
        if reservation.ticket_id is not None:
            ticket = ticket_locked(session, reservation.ticket_id)
            moved_back = False
            if (
                ticket.status in ACTIVE
                and ticket.room_id == reservation.room_id
                and reservation.from_room_id
            ):
                ticket.room_id = reservation.from_room_id
                session.add(ticket)
                moved_back = True
            summary = f"Талон {ticket.number}: переговорная {room.number} освобождена."
            ticket_event_record(
                session,
                ticket=ticket,
                staff=staff,
                kind=HistoryKind.MEETING_ROOM_RELEASED,
                summary=summary,
                action="room.release",
            )
            if moved_back:
                push_emit(
                    session,
                    "ticket.moved",
                    _move_topics(ticket, room_move_announced(ticket)),
                    ticket_id=ticket.id,
                    room_id=ticket.room_id,
                )
        push_emit(session, "queue.changed", [f"staff:{reservation.staff_id}", "admin"])
    return reservation


def colleague_invite(
    *,
    session: Session,
    staff: Staff,
    ticket_id: int,
    to_staff_id: int,
    message: str = "",
) -> ColleagueInvite:
    """§35.3: invite a colleague into the conversation, in the room or in the meeting room.

    Its own action: no meeting room is needed. The colleague is invited to where the
    visitor is now (the ticket's room: the specialist's own, or the meeting room it
    moved to), and sees a notice in their panel.
    """
    message = (message or "").strip()[:500]
    with write_transaction(session):
        ticket = ticket_locked(session, ticket_id)
        if ticket.staff_id != staff.id:
            raise Forbidden("Пригласить коллегу может специалист, который ведёт приём.")
        if ticket.status not in ACTIVE:
            raise Conflict("Приём по этому талону уже закончен. Список обновлён.", code="done")
        colleague = session.get(Staff, to_staff_id)
        if colleague is None or not colleague.active or colleague.id == staff.id:
            raise InvalidInput("Выберите коллегу из списка.", field="to_staff")
        room = session.get(Room, ticket.room_id)
        assert room is not None and ticket.id is not None
        reservation = _active_reservation(session, ticket.id, utcnow())
        invite = ColleagueInvite(
            ticket_id=ticket.id,
            reservation_id=reservation.id if reservation else None,
            room_id=room.id or 0,
            from_staff_id=staff.id or 0,
            to_staff_id=colleague.id or 0,
            message=message,
        )
        session.add(invite)
        session.flush()
        invited = by_gender_of(colleague, "приглашён", "приглашена")
        summary = f"Талон {ticket.number}: {room.place_to} {invited} {colleague.full_name}" + (
            f". {message}" if message else "."
        )
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.COLLEAGUE_INVITED,
            summary=summary,
            action="room.invite",
        )
        push_emit(session, "invite", [f"staff:{colleague.id}"], invite_id=invite.id)
    return invite


def colleague_invite_seen(*, session: Session, staff: Staff, invite_id: int) -> ColleagueInvite:
    """The invited colleague closes the notice."""
    with write_transaction(session):
        invite = session.get(ColleagueInvite, invite_id)
        if invite is None or invite.to_staff_id != staff.id:
            raise NotFound("Приглашение не найдено.")
        if invite.seen_at is None:
            invite.seen_at = utcnow()
            session.add(invite)
            audit_record(
                session,
                staff=staff,
                action="room.invite_seen",
                ticket_id=invite.ticket_id,
            )
    return invite
