"""Handing a ticket to another specialist or service, at most twice (§23)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput, RuleViolation
from visits.models import (
    HistoryKind,
    Role,
    Room,
    Service,
    Staff,
    StaffService,
    Ticket,
    TicketStatus,
)
from visits.notify.outbox import room_change_queue
from visits.rules import ACTIVE, MAX_TRANSFERS
from visits.services.history import ticket_event_record
from visits.services.queue.common import (
    own_ticket,
    reservations_release,
    room_of,
    ticket_back_to_waiting,
    ticket_client,
    ticket_push,
)

log = logging.getLogger(__name__)

TRANSFER_LIMIT = "Талон уже передавали дважды. Решите вопрос сами или пригласите коллегу в кабинет."
_REASON_MAX = 300


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
    reason = _transfer_reason(reason)
    with write_transaction(session):
        ticket = own_ticket(session, staff, ticket_id, TicketStatus.WAITING, *ACTIVE)
        # §23: at most two hand-overs to other colleagues within one contact.
        if ticket.transfer_count >= MAX_TRANSFERS:
            raise RuleViolation(TRANSFER_LIMIT, code="transfer_limit")
        target = _transfer_target(session, staff, to_staff_id)
        service = _transfer_service(session, target, to_service_id or ticket.service_id)
        old_staff_id = ticket.staff_id
        reservations_release(session, ticket, now, move_back=False)
        assert target.room_id is not None
        room = room_of(session, target.room_id)
        _ticket_hand_over(session, ticket, target, service, room, now)
        client = ticket_client(session, ticket)
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
        # The former specialist's panel drops the ticket too.
        ticket_push(session, "ticket.moved", ticket, f"staff:{old_staff_id}")
    log.info("ticket %s transferred by %s to %s", ticket.number, staff.login, target.login)
    return ticket


def _transfer_reason(reason: str) -> str:
    """Return the stripped reason of a transfer, required and short."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Укажите причину передачи.", field="reason")
    if len(reason) > _REASON_MAX:
        raise InvalidInput("Причина — не длиннее 300 знаков.", field="reason")
    return reason


def _transfer_target(session: Session, staff: Staff, to_staff_id: int) -> Staff:
    """Return the receiving specialist: active, with a room, and not the one handing over."""
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
    return target


def _transfer_service(session: Session, target: Staff, service_id: int) -> Service:
    """Return the service of the transfer, refusing one the target does not handle."""
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
    return service


def _ticket_hand_over(
    session: Session, ticket: Ticket, target: Staff, service: Service, room: Room, now: datetime
) -> None:
    """Put the ticket in the target's waiting list; its booked time keeps its priority (§23)."""
    ticket.staff_id = target.id or 0
    ticket.service_id = service.id or 0
    ticket.room_id = room.id or 0
    ticket_back_to_waiting(ticket)
    ticket.transfer_count += 1
    # §34.4: the new specialist's punctuality is measured afresh, from the transfer.
    ticket.transferred_at = now
    ticket.late_start_minutes = None
    session.add(ticket)
