"""The specialist's queue: call, recall, no-show, serve, finish, return, transfer (§23, §33-34).

Every action runs in one write transaction, writes the client's history (§4)
and an audit entry, and pushes an event (ids only) to the hallway displays,
the specialist panels concerned and the administrators' day view.

Claiming a ticket cannot happen twice: the specialist's row is locked first
(FOR UPDATE on PostgreSQL; on SQLite the whole write transaction is BEGIN
IMMEDIATE), the candidate ticket is read with FOR UPDATE SKIP LOCKED, and the
status is checked again after the lock. A ticket that changed meanwhile gives
a Conflict with a readable message, never a second call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict, InvalidInput, NotFound, RuleViolation
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    HistoryKind,
    MessageKind,
    Role,
    Room,
    RoomReservation,
    Service,
    Staff,
    StaffService,
    Ticket,
    TicketStatus,
)
from visits.notify.outbox import message_queue, room_change_queue
from visits.notify.templates import visit_final
from visits.push import push_emit
from visits.ru import minutes_phrase
from visits.rules import (
    ACTIVE,
    MAX_TRANSFERS,
    apology_due,
    apology_text,
    day_window,
    no_show_allowed,
)
from visits.services.history import ticket_event_record
from visits.services.rating import rating_prompt_open

log = logging.getLogger(__name__)

TRANSFER_LIMIT = "Талон уже передавали дважды. Решите вопрос сами или пригласите коллегу в кабинет."
STATUS_PHRASES = {
    TicketStatus.WAITING.value: "ждёт вызова",
    TicketStatus.CALLED.value: "уже вызван",
    TicketStatus.IN_SERVICE.value: "уже на приёме",
    TicketStatus.DONE.value: "уже принят, приём завершён",
    TicketStatus.NO_SHOW.value: "уже отмечен как неявка",
}


@dataclass(frozen=True)
class CallResult:
    ticket: Ticket
    # §34.4: the apology prompt when the call is late, else None.
    apology: str | None


def lateness(*, booked_at: datetime, checked_in_at: datetime, called_at: datetime) -> int:
    """Whole minutes the specialist started late (§34.4), 0 if on time.

    Counted from the booked time, or from the check-in when the visitor came
    later than booked: waiting for a late visitor is not the specialist's delay.
    """
    reference = max(booked_at, checked_in_at)
    minutes = int((called_at - reference).total_seconds() // 60)
    return max(minutes, 0)


def _topics(ticket: Ticket, *extra: str) -> list[str]:
    topics = ["displays", f"staff:{ticket.staff_id}", "admin", *extra]
    return list(dict.fromkeys(topics))


def _lock_staff(session: Session, staff: Staff) -> Staff:
    """Serialise one specialist's claims (SQLite: BEGIN IMMEDIATE does it already)."""
    stmt = select(Staff).where(Staff.id == staff.id).execution_options(populate_existing=True)
    if for_update(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).one()


def ticket_locked(session: Session, ticket_id: int) -> Ticket:
    """Read a ticket for change, locked where the database can (PostgreSQL: FOR UPDATE)."""
    stmt = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    if for_update(session):
        stmt = stmt.with_for_update()
    ticket = session.exec(stmt).first()
    if ticket is None:
        raise NotFound("Талон не найден. Список обновлён.")
    return ticket


def _changed(ticket: Ticket) -> Conflict:
    phrase = STATUS_PHRASES.get(ticket.status, "изменился")
    return Conflict(f"Талон {ticket.number} {phrase}. Список обновлён.", code="ticket_changed")


def _own_ticket(session: Session, staff: Staff, ticket_id: int, *statuses: str) -> Ticket:
    """Lock a ticket of this specialist in one of `statuses`, or explain what changed."""
    ticket = ticket_locked(session, ticket_id)
    if ticket.staff_id != staff.id:
        raise Conflict(
            f"Талон {ticket.number} передан другому специалисту. Список обновлён.",
            code="ticket_changed",
        )
    if statuses and ticket.status not in statuses:
        raise _changed(ticket)
    return ticket


def _active_ticket(session: Session, staff: Staff) -> Ticket | None:
    return session.exec(
        select(Ticket)
        .where(Ticket.staff_id == staff.id, col(Ticket.status).in_(ACTIVE))
        .execution_options(populate_existing=True)
    ).first()


def _ensure_free(session: Session, staff: Staff) -> None:
    busy = _active_ticket(session, staff)
    if busy is not None:
        raise Conflict(
            f"Сначала завершите приём по талону {busy.number} или верните его в очередь.",
            code="busy",
        )


def _client(session: Session, ticket: Ticket) -> Client:
    client = session.get(Client, ticket.client_id)
    assert client is not None
    return client


def _room(session: Session, room_id: int) -> Room:
    room = session.get(Room, room_id)
    assert room is not None
    return room


def _booking(session: Session, ticket: Ticket) -> Booking:
    booking = session.get(Booking, ticket.booking_id)
    assert booking is not None
    return booking


def _call(
    session: Session, calendar: WorkCalendar, staff: Staff, ticket: Ticket, now: datetime
) -> CallResult:
    ticket.status = TicketStatus.CALLED.value
    ticket.called_at = now
    ticket.called_by_staff_id = staff.id
    ticket.recall_count = 0
    ticket.started_at = None
    first_call = ticket.late_start_minutes is None
    if first_call:
        # §34.4: lateness is measured at the first call and kept per specialist.
        ticket.late_start_minutes = lateness(
            booked_at=ticket.booked_at, checked_in_at=ticket.checked_in_at, called_at=now
        )
    session.add(ticket)
    room = _room(session, ticket.room_id)
    client = _client(session, ticket)
    late = ticket.late_start_minutes or 0
    summary = f"Талон {ticket.number} вызван: {room.place}. Специалист {staff.full_name}."
    if first_call and late > 0:
        summary += f" Вызов на {minutes_phrase(late)} позже записи."
    ticket_event_record(
        session,
        ticket=ticket,
        staff=staff,
        kind=HistoryKind.CALLED,
        summary=summary,
        action="ticket.call",
        data={"late_start_minutes": late},
    )
    push_emit(session, "ticket.called", _topics(ticket), ticket_id=ticket.id, room_id=room.id)
    apology = None
    if apology_due(ticket, calendar.config.office.apology_after_minutes):
        apology = apology_text(minutes=late, client=client)
    log.info("ticket %s called by %s (late %s min)", ticket.number, staff.login, late)
    return CallResult(ticket=ticket, apology=apology)


def ticket_call_next(
    *, session: Session, calendar: WorkCalendar, staff: Staff, now: datetime | None = None
) -> CallResult:
    """Call the waiting ticket with the earliest booked time for this specialist today."""
    now = now or utcnow()
    with write_transaction(session):
        _lock_staff(session, staff)
        _ensure_free(session, staff)
        start, end = day_window(calendar, now)
        stmt = (
            select(Ticket)
            .where(
                Ticket.staff_id == staff.id,
                Ticket.status == TicketStatus.WAITING.value,
                col(Ticket.booked_at) >= start,
                col(Ticket.booked_at) < end,
            )
            # Priority is the original booked time, also after a transfer (§23).
            .order_by(col(Ticket.booked_at), col(Ticket.id))
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if for_update(session):
            stmt = stmt.with_for_update(skip_locked=True)
        ticket = session.exec(stmt).first()
        if ticket is None:
            raise Conflict("Сейчас никто не ждёт вызова. Список обновлён.", code="queue_empty")
        return _call(session, calendar, staff, ticket, now)


def ticket_call(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
) -> CallResult:
    """Call a chosen waiting ticket out of turn."""
    now = now or utcnow()
    with write_transaction(session):
        _lock_staff(session, staff)
        ticket = _own_ticket(session, staff, ticket_id, TicketStatus.WAITING.value)
        _ensure_free(session, staff)
        return _call(session, calendar, staff, ticket, now)


def ticket_recall(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Repeat the call on the hallway displays."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = _own_ticket(session, staff, ticket_id, TicketStatus.CALLED.value)
        ticket.recall_count += 1
        session.add(ticket)
        room = _room(session, ticket.room_id)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.RECALLED,
            summary=f"Талон {ticket.number}: повторный вызов №{ticket.recall_count}, {room.place}.",
            action="ticket.recall",
        )
        push_emit(session, "ticket.recalled", _topics(ticket), ticket_id=ticket.id, room_id=room.id)
    return ticket


def ticket_no_show(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Mark that the called visitor did not come: after 2 recalls or 5 minutes."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = _own_ticket(session, staff, ticket_id, TicketStatus.CALLED.value)
        if not no_show_allowed(ticket, now):
            raise RuleViolation(
                "Неявку можно отметить после двух повторных вызовов "
                "или через 5 минут после вызова.",
                code="no_show_too_early",
            )
        ticket.status = TicketStatus.NO_SHOW.value
        ticket.finished_at = now
        session.add(ticket)
        booking = _booking(session, ticket)
        booking.status = BookingStatus.NO_SHOW.value
        session.add(booking)
        _release_reservations(session, ticket, now)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.NO_SHOW,
            summary=f"Талон {ticket.number}: клиент не подошёл после вызова "
            f"(повторных вызовов: {ticket.recall_count}).",
            action="ticket.no_show",
        )
        push_emit(
            session, "ticket.no_show", _topics(ticket), ticket_id=ticket.id, room_id=ticket.room_id
        )
    return ticket


def ticket_start(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """The visitor came in: the service begins."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = _own_ticket(session, staff, ticket_id, TicketStatus.CALLED.value)
        ticket.status = TicketStatus.IN_SERVICE.value
        ticket.started_at = now
        session.add(ticket)
        room = _room(session, ticket.room_id)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.SERVICE_STARTED,
            summary=f"Талон {ticket.number}: приём начат, {room.place}. "
            f"Специалист {staff.full_name}.",
            action="ticket.start",
        )
        push_emit(session, "queue.changed", _topics(ticket), ticket_id=ticket.id, room_id=room.id)
    return ticket


def ticket_finish(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
) -> Ticket:
    """Close the visit, offer the rating on the room's tablet and send the final message (§17)."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = _own_ticket(session, staff, ticket_id, *ACTIVE)
        ticket.status = TicketStatus.DONE.value
        ticket.started_at = ticket.started_at or now
        ticket.finished_at = now
        session.add(ticket)
        booking = _booking(session, ticket)
        booking.status = BookingStatus.COMPLETED.value
        session.add(booking)
        client = _client(session, ticket)
        service = session.get(Service, ticket.service_id)
        assert service is not None
        served_minutes = max(1, round((now - ticket.started_at).total_seconds() / 60))
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.SERVED,
            summary=f"Талон {ticket.number}: приём завершён. Вопрос «{service.name}». "
            f"Специалист {staff.full_name}, приём длился {minutes_phrase(served_minutes)}.",
            action="ticket.finish",
        )
        # §36: the tablet of the room where the visit ended offers the rating.
        rating_prompt_open(session, ticket=ticket)
        _release_reservations(session, ticket, now, move_back=False)
        # §17: the final written message carries the survey link.
        office = calendar.config.office
        survey_url = f"{office.public_base_url.rstrip('/')}/t/{ticket.token}"
        message_queue(
            session,
            client=client,
            kind=MessageKind.FINAL,
            text=visit_final(
                config=calendar.config,
                client=client,
                staff=staff,
                ticket_number=ticket.number,
                survey_url=survey_url,
            ),
            booking_id=ticket.booking_id,
            ticket_id=ticket.id,
            staff=staff,
        )
        push_emit(
            session, "ticket.finished", _topics(ticket), ticket_id=ticket.id, room_id=ticket.room_id
        )
    log.info("ticket %s finished by %s", ticket.number, staff.login)
    return ticket


def ticket_return(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Put a called or served ticket back into the waiting list, keeping its priority."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = _own_ticket(session, staff, ticket_id, *ACTIVE)
        ticket.status = TicketStatus.WAITING.value
        ticket.called_at = None
        ticket.called_by_staff_id = None
        ticket.recall_count = 0
        ticket.started_at = None
        session.add(ticket)
        _release_reservations(session, ticket, now)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.RETURNED_TO_QUEUE,
            summary=f"Талон {ticket.number} возвращён в очередь к специалисту {staff.full_name}.",
            action="ticket.return",
        )
        push_emit(
            session, "ticket.returned", _topics(ticket), ticket_id=ticket.id, room_id=ticket.room_id
        )
    return ticket


def ticket_transfer(
    *,
    session: Session,
    staff: Staff,
    ticket_id: int,
    to_staff_id: int,
    reason: str,
    to_service_id: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Hand the ticket to another specialist or service (§23), keeping its booked-time priority."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Укажите причину передачи.", field="reason")
    if len(reason) > 300:
        raise InvalidInput("Причина — не длиннее 300 знаков.", field="reason")
    with write_transaction(session):
        ticket = _own_ticket(
            session,
            staff,
            ticket_id,
            TicketStatus.WAITING.value,
            *ACTIVE,
        )
        # §23: at most two hand-overs to other colleagues within one contact.
        if ticket.transfer_count >= MAX_TRANSFERS:
            raise RuleViolation(TRANSFER_LIMIT, code="transfer_limit")
        target = session.get(Staff, to_staff_id)
        if (
            target is None
            or not target.active
            or target.room_id is None
            or not target.has_role(Role.SPECIALIST)
        ):
            raise InvalidInput("Выберите специалиста из списка.", field="to_staff")
        if target.id == staff.id:
            raise InvalidInput("Талон уже у вас. Выберите другого специалиста.", field="to_staff")
        service_id = to_service_id or ticket.service_id
        link = session.exec(
            select(StaffService).where(
                StaffService.staff_id == target.id, StaffService.service_id == service_id
            )
        ).first()
        service = session.get(Service, service_id)
        if link is None or service is None:
            raise InvalidInput(
                f"{target.full_name} не ведёт приём по этому вопросу. "
                "Выберите другого специалиста или другой вопрос.",
                field="to_service",
            )
        old_staff_id = ticket.staff_id
        _release_reservations(session, ticket, now, move_back=False)
        room = _room(session, target.room_id)
        ticket.staff_id = target.id or 0
        ticket.service_id = service_id
        ticket.room_id = room.id or 0
        ticket.status = TicketStatus.WAITING.value
        ticket.called_at = None
        ticket.called_by_staff_id = None
        ticket.recall_count = 0
        ticket.started_at = None
        ticket.transfer_count += 1
        session.add(ticket)
        client = _client(session, ticket)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.TRANSFERRED,
            summary=f"Талон {ticket.number} передан: {target.full_name}, {room.place}, "
            f"вопрос «{service.name}». Причина: {reason}. "
            f"Передача {ticket.transfer_count} из {MAX_TRANSFERS}.",
            action="ticket.transfer",
            data={"from_staff_id": old_staff_id, "to_staff_id": target.id, "reason": reason},
        )
        room_change_queue(session, client=client, ticket=ticket, room=room, staff=staff)
        push_emit(
            session,
            "ticket.moved",
            _topics(ticket, f"staff:{old_staff_id}"),
            ticket_id=ticket.id,
            room_id=room.id,
        )
    log.info("ticket %s transferred by %s to %s", ticket.number, staff.login, target.login)
    return ticket


def _release_reservations(
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
