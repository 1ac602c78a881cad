"""A ticket leaves the specialist: served, a no-show, or back in the waiting list (§17, §36)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col

from visits.calendar import WorkCalendar, utcnow
from visits.db import write_transaction
from visits.errors import RuleViolation
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    HistoryKind,
    MessageKind,
    Service,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import visit_final
from visits.ru import minutes_phrase
from visits.rules import ACTIVE, no_show_allowed
from visits.services.history import ticket_event_record
from visits.services.queue.common import (
    TicketChange,
    own_ticket,
    own_ticket_with,
    reservations_release,
    row_write,
    ticket_back_to_waiting,
    ticket_booking,
    ticket_push,
    ticket_reads,
)
from visits.services.rating import rating_prompt_open

log = logging.getLogger(__name__)


def ticket_no_show(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Mark that the called visitor did not come: after 2 recalls or 5 minutes."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = own_ticket(session, staff, ticket_id, TicketStatus.CALLED)
        if not no_show_allowed(ticket, now):
            raise RuleViolation(
                "Неявку можно отметить после двух повторных вызовов "
                "или через 5 минут после вызова.",
                code="no_show_too_early",
            )
        ticket.status = TicketStatus.NO_SHOW
        ticket.finished_at = now
        session.add(ticket)
        booking = ticket_booking(session, ticket)
        booking.status = BookingStatus.NO_SHOW
        session.add(booking)
        reservations_release(session, ticket, now)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.NO_SHOW,
            summary=f"Талон {ticket.number}: клиент не подошёл после вызова "
            f"(повторных вызовов: {ticket.recall_count}).",
            action="ticket.no_show",
        )
        ticket_push(session, "ticket.no_show", ticket)
    return ticket


# The ticket to finish with its booking, client and service (its record and final message
# name them), built once.
_FINISHING = ticket_reads(
    (Booking, col(Booking.id) == Ticket.booking_id),
    (Client, col(Client.id) == Ticket.client_id),
    (Service, col(Service.id) == Ticket.service_id),
)


def ticket_finish(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
) -> Ticket:
    """Close the visit, offer the rating on the room's tablet and send the final message (§17)."""
    return ticket_finish_change(
        session=session, calendar=calendar, staff=staff, ticket_id=ticket_id, now=now
    ).ticket


def ticket_finish_change(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    ticket_id: int,
    now: datetime | None = None,
) -> TicketChange:
    """Close the visit as ticket_finish() does; with the event pushed, for the panel's answer."""
    now = now or utcnow()
    with write_transaction(session):
        ticket, booking, client, service = own_ticket_with(
            session, staff, ticket_id, _FINISHING, *ACTIVE
        )
        started_at = ticket.started_at or now
        row_write(session, ticket, status=TicketStatus.DONE, started_at=started_at, finished_at=now)
        row_write(session, booking, status=BookingStatus.COMPLETED)
        served_minutes = max(1, round((now - started_at).total_seconds() / 60))
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.SERVED,
            summary=f"Талон {ticket.number}: приём завершён. Вопрос «{service.name}». "
            f"Специалист {staff.full_name}, приём длился {minutes_phrase(served_minutes)}.",
            action="ticket.finish",
        )
        # §36: the tablet of the specialist's own room offers the rating, wherever the
        # conversation ended (a meeting room has no tablet).
        rating_prompt_open(session, ticket=ticket)
        reservations_release(session, ticket, now, move_back=False)
        _final_message_queue(session, calendar, ticket, client, staff)
        event = ticket_push(session, "ticket.finished", ticket)
    log.info("ticket %s finished by %s", ticket.number, staff.login)
    return TicketChange(ticket=ticket, event=event)


def _final_message_queue(
    session: Session, calendar: WorkCalendar, ticket: Ticket, client: Client, staff: Staff
) -> None:
    """Queue the visit's final message with the survey link (§17)."""
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


def ticket_return(
    *, session: Session, staff: Staff, ticket_id: int, now: datetime | None = None
) -> Ticket:
    """Put a called or served ticket back into the waiting list, keeping its priority."""
    now = now or utcnow()
    with write_transaction(session):
        ticket = own_ticket(session, staff, ticket_id, *ACTIVE)
        ticket_back_to_waiting(ticket)
        session.add(ticket)
        reservations_release(session, ticket, now)
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.RETURNED_TO_QUEUE,
            summary=f"Талон {ticket.number} возвращён в очередь к специалисту {staff.full_name}.",
            action="ticket.return",
        )
        ticket_push(session, "ticket.returned", ticket)
    return ticket
