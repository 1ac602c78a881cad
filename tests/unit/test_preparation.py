"""§34.4 "заблаговременно": the day before, the specialist sees tomorrow's visits and prepares."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from tests.factories import make_booking, make_client, staff_by_login
from visits.calendar import WorkCalendar
from visits.errors import Conflict, NotFound
from visits.models import AuditEntry
from visits.queries.preparation import preparation_day, visits_to_prepare
from visits.services.booking import booking_cancel
from visits.services.preparation import booking_prepared_set


def test_tomorrows_visits_with_documents_in_time_order(
    session: Session, calendar: WorkCalendar
) -> None:
    day = preparation_day(calendar)
    later = make_booking(session, calendar, starts_at=calendar.at(day, time(15, 0)))
    earlier = make_booking(
        session,
        calendar,
        starts_at=calendar.at(day, time(10, 0)),
        client=make_client(session, first_name="Зинаида", patronymic="Аркадьевна"),
    )
    # Another specialist's visit and one the day after are not on her list.
    make_booking(session, calendar, starts_at=calendar.at(day, time(11, 0)), staff_login="smirnov")
    make_booking(
        session,
        calendar,
        starts_at=calendar.at(calendar.next_working_day(day), time(10, 0)),
    )
    preparation = visits_to_prepare(session, calendar, staff_by_login(session, "ivanova"))
    assert preparation.day == day
    assert [r.booking.id for r in preparation.rows] == [earlier.id, later.id]
    first = preparation.rows[0]
    assert first.client.address_name == "Зинаида Аркадьевна"
    assert first.documents[:2] == ["Паспорт", "Кадастровый номер участка или выписка ЕГРН"]
    assert preparation.prepared_count == 0


def test_mark_prepared_and_take_the_mark_back(session: Session, calendar: WorkCalendar) -> None:
    day = preparation_day(calendar)
    booking = make_booking(session, calendar, starts_at=calendar.at(day, time(10, 0)))
    ivanova = staff_by_login(session, "ivanova")
    booking_prepared_set(session=session, staff=ivanova, booking_id=booking.id or 0, prepared=True)
    preparation = visits_to_prepare(session, calendar, ivanova)
    assert preparation.rows[0].prepared and preparation.prepared_count == 1
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "booking.prepared")).one()
    booking_prepared_set(session=session, staff=ivanova, booking_id=booking.id or 0, prepared=False)
    assert not visits_to_prepare(session, calendar, ivanova).rows[0].prepared


def test_only_the_own_booked_visit_is_marked(session: Session, calendar: WorkCalendar) -> None:
    day = preparation_day(calendar)
    booking = make_booking(session, calendar, starts_at=calendar.at(day, time(10, 0)))
    with pytest.raises(NotFound):
        booking_prepared_set(
            session=session,
            staff=staff_by_login(session, "smirnov"),
            booking_id=booking.id or 0,
            prepared=True,
        )
    with time_machine.travel(calendar.at(day, time(8, 0)) - timedelta(days=1), tick=False):
        booking_cancel(
            session=session,
            calendar=calendar,
            booking_id=booking.id or 0,
            staff=staff_by_login(session, "operator"),
        )
    with pytest.raises(Conflict):
        booking_prepared_set(
            session=session,
            staff=staff_by_login(session, "ivanova"),
            booking_id=booking.id or 0,
            prepared=True,
        )
    # A cancelled visit is not on the list to prepare.
    assert visits_to_prepare(session, calendar, staff_by_login(session, "ivanova")).rows == []
