"""Report aggregation on fixed data: averages, distribution, share of 1-2, wait percentiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_finished_ticket, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.models import Rating, TicketStatus
from visits.queries.reports import (
    ReportFilter,
    duration_stats,
    low_rating_alerts,
    percentile,
    rating_stats,
    report_build,
    report_scope_for,
)


def test_rating_stats_average_distribution_and_low_share() -> None:
    stats = rating_stats([5, 4, 2, 1, 5, 3])
    assert stats.count == 6
    assert stats.average == pytest.approx(20 / 6)
    assert stats.distribution == {1: 1, 2: 1, 3: 1, 4: 1, 5: 2}
    assert stats.low_share == pytest.approx(2 / 6)
    assert stats.low_count == 2
    empty = rating_stats([])
    assert (empty.count, empty.average, empty.low_share) == (0, None, None)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [2, 4, 6, 8, 10, 40]
    assert percentile(values, 50) == pytest.approx(7.0)
    assert percentile(values, 90) == pytest.approx(25.0)
    assert percentile(values, 100) == 40
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None


def test_duration_stats_histogram_buckets() -> None:
    stats = duration_stats([0, 4.9, 5, 12, 31, 75, -1])  # a negative (clock skew) is ignored
    assert stats.count == 6
    assert dict(stats.buckets) == {
        "0–5": 2,
        "5–10": 1,
        "10–15": 1,
        "15–20": 0,
        "20–30": 0,
        "30–45": 1,
        "45–60": 0,
        "60+": 1,
    }
    assert stats.maximum == 75
    assert stats.percentiles[50] == pytest.approx(8.5)


def _rate(session: Session, ticket_id: int, score: int, comment: str = "") -> None:
    from visits.models import Ticket

    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    session.add(
        Rating(
            ticket_id=ticket_id,
            score=score,
            comment=comment,
            reasons=["невежливо"] if score <= 2 else [],
            source="tablet",
            staff_id=ticket.staff_id,
            service_id=ticket.service_id,
            room_id=ticket.room_id,
        )
    )
    session.commit()


def test_report_on_fixed_tickets(session: Session, calendar: WorkCalendar) -> None:
    waits = [5, 10, 15, 20]
    tickets = [
        make_finished_ticket(session, calendar, days_ago=1, slot=i, wait_minutes=w)
        for i, w in enumerate(waits)
    ]
    other = make_finished_ticket(
        session,
        calendar,
        days_ago=1,
        slot=0,
        staff_login="popov",
        service_code="land-free",
        wait_minutes=60,
        late_start_minutes=12,
    )
    missed = make_finished_ticket(
        session, calendar, days_ago=1, slot=5, status=TicketStatus.NO_SHOW
    )
    for ticket, score in zip(tickets, (5, 4, 2, 1), strict=True):
        _rate(session, ticket.id or 0, score, comment="долго" if score == 1 else "")
    _rate(session, other.id or 0, 5)

    day = tickets[0].office_day
    admin = staff_by_login(session, "admin")
    admin_scope = report_scope_for(admin)
    assert admin_scope is not None
    report = report_build(
        session=session,
        calendar=calendar,
        scope=admin_scope,
        filters=ReportFilter(date_from=day, date_to=day),
    )
    assert report.ratings.count == 5
    assert report.ratings.average == pytest.approx(17 / 5)
    assert report.ratings.distribution == {1: 1, 2: 1, 3: 0, 4: 1, 5: 2}
    assert report.ratings.low_share == pytest.approx(0.4)
    by_staff = {g.label: g.stats for g in report.by_staff}
    assert by_staff["Иванова М. П."].average == pytest.approx(3.0)
    assert by_staff["Попов Д. А."].average == 5
    # Waits 5, 10, 15, 20, 60 and the no-show's 10 minutes: median 12.5.
    assert report.wait.count == 6
    assert report.wait.percentiles[50] == pytest.approx(12.5)
    assert report.service_time.count == 5
    assert report.no_show.due == 6 and report.no_show.missed == 1
    assert report.late_total.late == 1 and report.late_total.max_minutes == 12
    assert [c.comment for c in report.comments] == ["долго", ""]
    assert report.comments[0].ticket_number == tickets[3].number

    # Filters: unit and service narrow to one specialist's tickets.
    unit = report_build(
        session=session,
        calendar=calendar,
        scope=admin_scope,
        filters=ReportFilter(date_from=day, date_to=day, unit="Отдел предоставления земли"),
    )
    assert unit.ratings.count == 1 and unit.wait.count == 1
    assert missed.id is not None

    # §36: the specialist sees only their own figures, and the comments anonymously.
    ivanova_scope = report_scope_for(staff_by_login(session, "ivanova"))
    assert ivanova_scope is not None
    own = report_build(
        session=session,
        calendar=calendar,
        scope=ivanova_scope,
        filters=ReportFilter(date_from=day, date_to=day),
    )
    assert own.ratings.count == 4 and own.ratings.average == pytest.approx(3.0)
    assert own.comments[0].comment == "долго"
    assert own.comments[0].ticket_number is None and own.comments[0].staff_label is None
    assert own.comments[0].ticket_id is None


def test_low_rating_alerts_reach_the_unit_head_only(
    session: Session, calendar: WorkCalendar
) -> None:
    ticket = make_finished_ticket(session, calendar, days_ago=0, slot=1)
    _rate(session, ticket.id or 0, 2, comment="грубо")
    smirnov = staff_by_login(session, "smirnov")  # head of ivanova's unit
    sokolova = staff_by_login(session, "sokolova")  # head of another unit
    alerts = low_rating_alerts(session=session, staff=smirnov)
    assert [(a.ticket_number, a.score, a.comment) for a in alerts] == [(ticket.number, 2, "грубо")]
    assert low_rating_alerts(session=session, staff=sokolova) == []
    assert low_rating_alerts(session=session, staff=staff_by_login(session, "ivanova")) == []
    assert len(low_rating_alerts(session=session, staff=staff_by_login(session, "admin"))) == 1
    later = low_rating_alerts(
        session=session,
        staff=smirnov,
        now=utcnow() + timedelta(days=8),
    )
    assert later == []


def test_ratings_by_room_count_the_specialists_room_and_name_the_meeting_room(
    session: Session, calendar: WorkCalendar
) -> None:
    """§36, §35.4: a visit rated after a meeting room counts under room 305, with 311 beside."""
    from sqlmodel import select

    from visits.models import Room, RoomReservation
    from visits.services.rating import rating_by_token

    plain = make_finished_ticket(session, calendar, days_ago=1, slot=0)
    moved = make_finished_ticket(session, calendar, days_ago=1, slot=1)
    meeting = session.exec(select(Room).where(Room.number == "311")).one()
    own_room = moved.room_id
    moved.room_id = meeting.id or 0
    session.add(moved)
    session.add(
        RoomReservation(
            room_id=meeting.id or 0,
            ticket_id=moved.id,
            staff_id=moved.staff_id,
            starts_at=moved.finished_at or utcnow(),
            ends_at=(moved.finished_at or utcnow()) + timedelta(minutes=30),
            from_room_id=own_room,
        )
    )
    session.commit()
    for ticket, score in ((plain, 5), (moved, 3)):
        rating_by_token(session=session, token=ticket.token, score=score, reasons=[])

    scope = report_scope_for(staff_by_login(session, "admin"))
    assert scope is not None
    day = plain.office_day
    report = report_build(
        session=session,
        calendar=calendar,
        scope=scope,
        filters=ReportFilter(date_from=day, date_to=day),
    )
    (room,) = report.by_room
    assert room.label == "кабинет 305, 3 этаж"
    assert room.stats.count == 2
    assert room.meeting_rooms == (("переговорная 311, 3 этаж", 1),)


def test_an_older_rating_saved_under_the_meeting_room_counts_under_the_room_it_came_from(
    session: Session, calendar: WorkCalendar
) -> None:
    """Ratings saved before §36's room rule named the meeting room: reports still say 305."""
    from sqlmodel import select

    from visits.models import Room, RoomReservation

    ticket = make_finished_ticket(session, calendar, days_ago=1, slot=2)
    meeting = session.exec(select(Room).where(Room.number == "311")).one()
    session.add(
        RoomReservation(
            room_id=meeting.id or 0,
            ticket_id=ticket.id,
            staff_id=ticket.staff_id,
            starts_at=ticket.finished_at or utcnow(),
            ends_at=(ticket.finished_at or utcnow()) + timedelta(minutes=15),
            from_room_id=ticket.room_id,
        )
    )
    session.add(
        Rating(
            ticket_id=ticket.id or 0,
            score=4,
            source="tablet",
            staff_id=ticket.staff_id,
            service_id=ticket.service_id,
            room_id=meeting.id or 0,
        )
    )
    session.commit()
    scope = report_scope_for(staff_by_login(session, "admin"))
    assert scope is not None
    day = ticket.office_day
    report = report_build(
        session=session, calendar=calendar, scope=scope, filters=ReportFilter(day, day)
    )
    (room,) = report.by_room
    assert room.label == "кабинет 305, 3 этаж"
    assert room.meeting_rooms == (("переговорная 311, 3 этаж", 1),)
