"""Status columns: the same VARCHAR as before in the database, enum members in Python."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlmodel import Session, col, select

from tests.factories import make_booking, make_ticket
from visits.calendar import WorkCalendar
from visits.models import Booking, BookingStatus, Ticket, TicketStatus


def test_a_status_is_stored_as_its_plain_value_and_read_back_as_the_member(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar)
    ticket = make_ticket(session, booking, status=TicketStatus.CALLED)
    session.commit()
    stored = session.execute(
        text("SELECT status FROM ticket WHERE id = :id"), {"id": ticket.id}
    ).scalar_one()
    assert stored == "called" and type(stored) is str
    session.expire_all()
    again = session.get(Ticket, ticket.id)
    assert again is not None and again.status is TicketStatus.CALLED
    booked = session.get(Booking, booking.id)
    assert booked is not None and booked.status is BookingStatus.CHECKED_IN
    # Filters bind members and plain strings alike.
    found = session.exec(
        select(Ticket.id).where(col(Ticket.status).in_([TicketStatus.CALLED, "in_service"]))
    ).all()
    assert found == [ticket.id]


def test_a_value_outside_the_enum_never_reaches_a_row(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar)
    booking.status = "lost"  # type: ignore[assignment]  # what a typo would do
    session.add(booking)
    with pytest.raises(StatementError, match="'lost' is not a valid BookingStatus"):
        session.flush()
    session.rollback()
