"""A visitor too late for the booking takes today's first free time instead (§29, §33)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from visits.calendar import WorkCalendar, utcnow
from visits.errors import NotFound, RuleViolation
from visits.models import Booking, Client, Service
from visits.services.checkin.common import CheckinRefused, scanned_code
from visits.services.checkin.walkin import WalkinResult, walkin_book_chosen, walkin_book_today
from visits.services.checkin.window import checkin_window_check


def checkin_late_rebook(
    *,
    session: Session,
    calendar: WorkCalendar,
    code: str,
    device_id: int,
    submit_key: str,
    now: datetime | None = None,
    slot: str = "",
) -> WalkinResult:
    """Book a visitor too late for the booking into a free time of today instead.

    §29: `slot` is the time the visitor chose among today's free ones (the first when empty).
    """
    now = now or utcnow()
    value = scanned_code(code)
    booking = session.exec(select(Booking).where(Booking.code == value)).first()
    if booking is None:
        raise NotFound(f"Записи с кодом {value} нет.", code="checkin_unknown")
    # Only a refusal for lateness opens the rebooking; any other refusal stands.
    try:
        checkin_window_check(session, calendar, booking, now)
    except CheckinRefused as refused:
        if refused.reason != "too_late":
            raise
    else:
        raise RuleViolation("На эту запись можно зарегистрироваться: нажмите «На главную».")
    service = session.get(Service, booking.service_id)
    client = session.get(Client, booking.client_id)
    assert service is not None and client is not None
    if slot:
        return walkin_book_chosen(
            session, calendar, service, client, slot, device_id, submit_key, now
        )
    return walkin_book_today(
        session, calendar, service, booking.client_id, device_id, submit_key, now
    )
