"""§34.4: any lateness is apologised for, from the first minute; after a transfer the new
specialist's lateness is measured again, from the transfer."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import Ticket
from visits.rules import apology_due
from visits.services.queue import ticket_call_next, ticket_start, ticket_transfer


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def _ticket(session: Session, calendar: WorkCalendar) -> tuple[Ticket, datetime]:
    at = calendar.at(calendar.today(), time(10, 0))
    booking = make_booking(session, calendar, starts_at=at)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=10))
    return ticket, at


def test_the_setting_defaults_to_the_first_minute(office_config: OfficeConfig) -> None:
    assert office_config.office.apology_after_minutes == 1


def test_one_minute_late_prompts_the_apology(session: Session, open_calendar: WorkCalendar) -> None:
    ticket, at = _ticket(session, open_calendar)
    result = ticket_call_next(
        session=session,
        calendar=open_calendar,
        staff=staff_by_login(session, "ivanova"),
        now=at + timedelta(minutes=1, seconds=10),
    )
    assert result.ticket.late_start_minutes == 1
    assert result.apology == (
        "Приём начинается на 1 минуту позже записи. Извинитесь перед Иваном Петровичем."
    )


def test_the_threshold_stays_a_setting() -> None:
    ticket = Ticket(late_start_minutes=3)  # type: ignore[call-arg]
    assert apology_due(ticket, 1) and apology_due(ticket, 3)
    assert not apology_due(ticket, 4)
    assert not apology_due(Ticket(late_start_minutes=0), 1)  # type: ignore[call-arg]


def test_lateness_is_measured_again_after_a_transfer(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket, at = _ticket(session, open_calendar)
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    # Ivanova calls on time and hands the visit over at 10:20.
    first = ticket_call_next(session=session, calendar=open_calendar, staff=ivanova, now=at)
    assert first.apology is None
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0, now=at)
    transferred_at = at + timedelta(minutes=20)
    ticket_transfer(
        session=session,
        staff=ivanova,
        ticket_id=ticket.id or 0,
        to_staff_id=smirnov.id or 0,
        reason="Вопрос о выкупе участка",
        now=transferred_at,
    )
    session.refresh(ticket)
    assert ticket.transferred_at == transferred_at and ticket.late_start_minutes is None
    # Smirnov calls 7 minutes after the transfer: late against him, not against the booking.
    second = ticket_call_next(
        session=session,
        calendar=open_calendar,
        staff=smirnov,
        now=transferred_at + timedelta(minutes=7),
    )
    assert second.ticket.late_start_minutes == 7
    assert second.apology is not None and "на 7 минут позже" in second.apology


def test_a_prompt_call_after_a_transfer_needs_no_apology(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket, at = _ticket(session, open_calendar)
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    ticket_call_next(session=session, calendar=open_calendar, staff=ivanova, now=at)
    ticket_transfer(
        session=session,
        staff=ivanova,
        ticket_id=ticket.id or 0,
        to_staff_id=smirnov.id or 0,
        reason="Вопрос о выкупе участка",
        now=at + timedelta(minutes=30),
    )
    # 30 minutes after the booked time, but 20 seconds after the transfer.
    second = ticket_call_next(
        session=session,
        calendar=open_calendar,
        staff=smirnov,
        now=at + timedelta(minutes=30, seconds=20),
    )
    assert second.ticket.late_start_minutes == 0 and second.apology is None
