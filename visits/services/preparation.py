"""§34.4 "заблаговременно": the specialist marks a visit of the next day prepared."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import Conflict, NotFound
from visits.models import Booking, BookingStatus, Staff
from visits.services.history import audit_record

log = logging.getLogger(__name__)


def booking_prepared_set(
    *,
    session: Session,
    staff: Staff,
    booking_id: int,
    prepared: bool,
    now: datetime | None = None,
) -> Booking:
    """Mark (or unmark) the specialist's own booked visit as prepared in advance (§34.4)."""
    with write_transaction(session):
        booking = session.exec(
            select(Booking)
            .where(Booking.id == booking_id)
            .execution_options(populate_existing=True)
        ).first()
        if booking is None or booking.staff_id != staff.id:
            raise NotFound("Запись не найдена. Список обновлён.")
        if booking.status != BookingStatus.BOOKED:
            raise Conflict("Эта запись отменена или приём уже прошёл. Список обновлён.")
        booking.prepared_at = (now or utcnow()) if prepared else None
        session.add(booking)
        audit_record(
            session,
            staff=staff,
            action="booking.prepared" if prepared else "booking.unprepared",
            client_id=booking.client_id,
            details=f"Запись {booking.code}: {'подготовлено' if prepared else 'отметка снята'}",
        )
    log.info("booking %s prepared=%s by %s", booking_id, prepared, staff.login)
    return booking
