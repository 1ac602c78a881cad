"""Who may see or change a client's personal data on a staff screen (§4), and the audit of refusals.

One rule for every staff route that shows or changes a client's data (the
history, the card before the visit, notes, export, data requests):
- the administrator sees every client;
- a phone operator too, since booking and cancelling by phone (§28, §32) and
  the client's requests about their data need any client;
- a specialist sees the clients of her own bookings and tickets: booked to her,
  called or served by her, transferred to her, or where she is the invited
  colleague (§35.3).
The rule is `history_can_view` (visits.queries.history), read by the history
screens too; this module applies it to a booking's card and records every
refused look in the audit log, so an administrator can see who tried.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from visits.db import write_transaction
from visits.errors import Forbidden, NotFound
from visits.models import Booking, Staff
from visits.queries.history import NO_ACCESS, history_can_view
from visits.services.history import audit_record

log = logging.getLogger(__name__)

REFUSED_ACTION = "access.refused"


class AccessRefused(Forbidden):
    """A refusal already written to the audit log (the web layer audits the others)."""


def booking_card_require(*, session: Session, staff: Staff, booking_id: int) -> Booking:
    """Return the booking whose client card `staff` may see or add notes to (§4, §34.4).

    Raises NotFound for no such booking and Forbidden (the refusal audited) otherwise.
    """
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Запись не найдена.")
    if not history_can_view(session, staff=staff, client_id=booking.client_id):
        access_refused_record(
            session=session,
            staff=staff,
            what=f"карточка клиента по записи {booking_id}",
            client_id=booking.client_id,
        )
        raise AccessRefused(NO_ACCESS, code="card_forbidden")
    return booking


def access_refused_record(
    *, session: Session, staff: Staff | None, what: str, client_id: int | None = None
) -> None:
    """Write a refused look to the audit log in its own transaction (it stays when the request fails)."""
    session.rollback()
    with write_transaction(session):
        audit_record(
            session,
            staff=staff,
            action=REFUSED_ACTION,
            client_id=client_id,
            details=f"Отказано в доступе: {what}"[:2000],
        )
    log.warning("access refused: %s: %s", staff.login if staff else "-", what)
