"""§14, §19: a reminder by phone is an operator's call, due only in the lines' hours on a working day.

The two-hour reminder of a 09:30 visit would fall at 07:30, the day-before
reminder of a Monday visit on Sunday: both become calls on the last working
moment before. A call that cannot be made in time is reported, not silently late.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlmodel import Session, select

from tests.factories import make_booking, make_client
from visits.calendar import WorkCalendar
from visits.models import HistoryEntry, HistoryKind, MessageKind, OutgoingMessage
from visits.rules import PHONE_CALL_TOO_LATE, phone_call_due

NSK = ZoneInfo("Asia/Novosibirsk")


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=NSK)


def _monday(calendar: WorkCalendar) -> date:
    day = calendar.today() + timedelta(days=14)
    while day.weekday() != 0 or not calendar.is_working_day(day):
        day += timedelta(days=1)
    # The Friday before must be a working day too for the expectations below.
    assert calendar.is_working_day(day - timedelta(days=3))
    return day


def test_a_call_in_the_lines_hours_stays_where_it_is(calendar: WorkCalendar) -> None:
    monday = _monday(calendar)
    ideal = _at(monday, 10, 30)
    assert phone_call_due(calendar, ideal=ideal, now=ideal - timedelta(days=3)) == ideal


def test_a_sunday_call_moves_to_the_end_of_fridays_hours(calendar: WorkCalendar) -> None:
    monday = _monday(calendar)
    sunday_ideal = _at(monday - timedelta(days=1), 10, 30)
    friday = monday - timedelta(days=3)
    due = phone_call_due(calendar, ideal=sunday_ideal, now=_at(friday, 9, 0))
    hours = calendar.hours_on(friday)
    assert hours is not None
    assert due == _at(friday, hours.close.hour, hours.close.minute) - timedelta(minutes=1)


def test_an_early_morning_call_moves_to_the_evening_before_and_can_be_too_late(
    calendar: WorkCalendar,
) -> None:
    monday = _monday(calendar)
    tuesday = monday + timedelta(days=1)
    ideal = _at(tuesday, 7, 30)  # two hours before 09:30
    due = phone_call_due(calendar, ideal=ideal, now=_at(monday, 9, 0))
    assert due is not None and due.astimezone(NSK).date() == monday
    assert calendar.is_within_hours(due)
    # Booked on Monday evening after the line closed: no working moment is left.
    assert phone_call_due(calendar, ideal=ideal, now=_at(monday, 20, 0)) is None


def test_booking_queues_the_call_in_the_lines_hours_or_reports_it(
    session: Session, calendar: WorkCalendar
) -> None:
    monday = _monday(calendar)
    tuesday = monday + timedelta(days=1)
    client = make_client(session, channel="phone", second_channel=None)
    with time_machine.travel(_at(monday, 11, 0), tick=False):
        booking = make_booking(
            session,
            calendar,
            client=client,
            starts_at=_at(tuesday, 9, 30),
            remind_two_hours_before=True,
            now=_at(monday, 11, 0),
        )
    (call,) = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            OutgoingMessage.kind == MessageKind.REMINDER_TWO_HOURS.value,
        )
    ).all()
    assert call.status == "queued" and calendar.is_within_hours(call.due_at)
    assert call.due_at.astimezone(NSK).date() == monday
    # The same booking made after the line closed: the call is reported, not left late.
    late_client = make_client(session, channel="phone", second_channel=None)
    with time_machine.travel(_at(monday, 20, 0), tick=False):
        late = make_booking(
            session,
            calendar,
            client=late_client,
            staff_login="smirnov",
            starts_at=_at(tuesday, 9, 30),
            remind_two_hours_before=True,
            now=_at(monday, 20, 0),
        )
    (skipped,) = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == late.id,
            OutgoingMessage.kind == MessageKind.REMINDER_TWO_HOURS.value,
        )
    ).all()
    assert skipped.status == "skipped" and skipped.skip_reason == PHONE_CALL_TOO_LATE
    reported = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == late_client.id,
            HistoryEntry.kind == HistoryKind.MESSAGE_SKIPPED.value,
        )
    ).all()
    assert any(PHONE_CALL_TOO_LATE in e.summary for e in reported)
