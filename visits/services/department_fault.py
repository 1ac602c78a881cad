"""§35.5: "ошибка департамента": the specialist marks that the department's work is at fault.

The mark carries a short reason, prompts the apology with the client's name
(visits.rules.department_apology_text), and goes into the client's history and
the reports. One mark per visit: a second one corrects the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput
from visits.models import HistoryKind, Staff, Ticket
from visits.push import push_emit
from visits.ru import by_gender_of
from visits.rules import ACTIVE
from visits.services.history import ticket_event_record
from visits.services.queue.common import own_ticket

log = logging.getLogger(__name__)

REASON_MIN = 3
REASON_MAX = 300


def ticket_department_fault(
    *, session: Session, staff: Staff, ticket_id: int, reason: str, now: datetime | None = None
) -> Ticket:
    """Mark the visit's problem as the department's fault (§35.5), with a short reason."""
    now = now or utcnow()
    reason = " ".join((reason or "").split())
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput(
            "Коротко напишите, в чём ошибка департамента: от 3 до 300 знаков.", field="reason"
        )
    with write_transaction(session):
        ticket = own_ticket(session, staff, ticket_id, *ACTIVE)
        correcting = ticket.department_fault is not None
        ticket.department_fault = reason
        ticket.department_fault_at = now
        session.add(ticket)
        verb = (
            by_gender_of(staff, "уточнил", "уточнила")
            if correcting
            else by_gender_of(staff, "отметил", "отметила")
        )
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.DEPARTMENT_FAULT,
            summary=f"Талон {ticket.number}: {staff.full_name} {verb} ошибку департамента: "
            f"{reason}. Клиенту принесены извинения.",
            action="ticket.department_fault",
            data={"reason": reason},
        )
        push_emit(session, "queue.changed", [f"staff:{ticket.staff_id}", "admin"])
    log.info("ticket %s: department fault marked by %s", ticket.number, staff.login)
    return ticket
