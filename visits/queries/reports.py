"""Satisfaction and punctuality reports (§34.4, §36): read-only.

Each section reads its rows with the scope as SQL predicates (_scope_where)
and aggregates them here in Python, the same way on SQLite and PostgreSQL
(SQLite has no percentile functions, and a department's month is a few
thousand tickets).

Who sees what is decided once, in report_scope_for():
- an administrator sees every unit and may open the ticket behind a rating;
- a unit head sees the whole unit, by specialist, with ticket numbers;
- a specialist sees only their own figures, and the comments anonymously.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import (
    Booking,
    BookingStatus,
    Client,
    Rating,
    Role,
    Room,
    RoomKind,
    RoomReservation,
    Service,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.queries.calls import CallsReport, calls_report

LOW_SCORE = 2
SCORES = (1, 2, 3, 4, 5)
PERCENTILES = (50, 75, 90, 95)
# Minute buckets of the wait and service time histograms: [lower, upper).
BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 5),
    (5, 10),
    (10, 15),
    (15, 20),
    (20, 30),
    (30, 45),
    (45, 60),
    (60, None),
)


# ---------------------------------------------------------------- pure aggregation


@dataclass(frozen=True)
class RatingStats:
    count: int
    average: float | None
    distribution: dict[int, int]
    low_share: float | None

    @property
    def low_count(self) -> int:
        return sum(self.distribution[s] for s in SCORES if s <= LOW_SCORE)


def rating_stats(scores: Iterable[int]) -> RatingStats:
    """Average, distribution over 1..5 and the share of 1-2 of a set of scores."""
    values = list(scores)
    distribution = dict.fromkeys(SCORES, 0)
    for value in values:
        distribution[value] += 1
    if not values:
        return RatingStats(0, None, distribution, None)
    low = sum(1 for v in values if v <= LOW_SCORE)
    return RatingStats(len(values), sum(values) / len(values), distribution, low / len(values))


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile, linear between the closest ranks (as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class DurationStats:
    count: int
    mean: float | None
    percentiles: dict[int, float | None]
    maximum: float | None
    buckets: list[tuple[str, int]]


def _bucket_label(lower: int, upper: int | None) -> str:
    return f"{lower}–{upper}" if upper is not None else f"{lower}+"


def duration_stats(minutes: Iterable[float]) -> DurationStats:
    """Mean, percentiles, maximum and a histogram of durations in minutes."""
    values = [m for m in minutes if m >= 0]
    counts = [0] * len(BUCKETS)
    for value in values:
        for i, (lower, upper) in enumerate(BUCKETS):
            if value >= lower and (upper is None or value < upper):
                counts[i] += 1
                break
    return DurationStats(
        count=len(values),
        mean=sum(values) / len(values) if values else None,
        percentiles={p: percentile(values, p) for p in PERCENTILES},
        maximum=max(values) if values else None,
        buckets=[(_bucket_label(lo, up), counts[i]) for i, (lo, up) in enumerate(BUCKETS)],
    )


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 60


# ---------------------------------------------------------------- scope and filters


@dataclass(frozen=True)
class ReportScope:
    """What a staff member's report covers and shows."""

    unit: str | None  # fixed unit (a unit head), None = any
    staff_id: int | None  # own figures only (a specialist), None = everyone in scope
    show_names: bool  # specialists' names in the tables
    show_tickets: bool  # ticket numbers next to comments
    open_tickets: bool  # may open the ticket and the client behind a rating
    see_alerts: bool  # low-rating alerts


def report_scope_for(staff: Staff) -> ReportScope | None:
    """§36: ratings are anonymous to the specialist; heads see their unit; admins all."""
    if staff.has_role(Role.ADMINISTRATOR):
        return ReportScope(None, None, True, True, True, True)
    if staff.has_role(Role.SPECIALIST) and staff.unit_head:
        return ReportScope(staff.unit, None, True, True, False, True)
    if staff.has_role(Role.SPECIALIST):
        return ReportScope(None, staff.id, False, False, False, False)
    return None


@dataclass(frozen=True)
class ReportFilter:
    date_from: date
    date_to: date
    unit: str | None = None
    service_id: int | None = None


def report_default_filter(calendar: WorkCalendar) -> ReportFilter:
    """The last 30 days up to today."""
    today = calendar.today()
    return ReportFilter(date_from=today - timedelta(days=29), date_to=today)


def report_services(*, session: Session) -> list[Service]:
    """The services to filter by."""
    return list(
        session.exec(
            select(Service).where(Service.active == True).order_by(col(Service.name))  # noqa: E712
        ).all()
    )


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class RatingGroup:
    key: str
    label: str
    stats: RatingStats
    # By room: the meeting rooms (§35.4) some of these visits moved to, with how many.
    meeting_rooms: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DayRow:
    day: date
    tickets: int
    served: int
    no_shows: int
    ratings: RatingStats
    wait_median: float | None


@dataclass(frozen=True)
class LateRow:
    label: str
    called: int
    late: int
    share: float | None
    mean_minutes: float | None
    max_minutes: int | None


@dataclass(frozen=True)
class CommentRow:
    at: datetime
    day: date
    score: int
    reasons: list[str]
    comment: str
    staff_label: str | None
    ticket_id: int | None
    ticket_number: str | None


@dataclass(frozen=True)
class FaultRow:
    """§35.5: a visit where the specialist marked the department's fault."""

    day: date
    reason: str
    staff_label: str | None
    ticket_number: str | None


@dataclass(frozen=True)
class NoShowStats:
    due: int
    missed: int

    @property
    def rate(self) -> float | None:
        return self.missed / self.due if self.due else None


@dataclass
class Report:
    filters: ReportFilter
    scope: ReportScope
    ratings: RatingStats
    by_staff: list[RatingGroup]
    by_service: list[RatingGroup]
    by_room: list[RatingGroup]
    by_day: list[DayRow]
    wait: DurationStats
    service_time: DurationStats
    no_show: NoShowStats
    late: list[LateRow]
    late_total: LateRow
    comments: list[CommentRow]
    units: list[str] = field(default_factory=list)
    faults: list[FaultRow] = field(default_factory=list)
    # The consultation line (§18-27): calls by day and topic, hand-overs, call-backs.
    calls: CallsReport | None = None


def _group(items: Iterable[tuple[Hashable, int]], label: Callable[[Any], str]) -> list[RatingGroup]:
    scores: dict[Hashable, list[int]] = defaultdict(list)
    for key, score in items:
        scores[key].append(score)
    groups = [RatingGroup(str(k), label(k), rating_stats(v)) for k, v in scores.items()]
    return sorted(groups, key=lambda g: g.label)


def report_by_room(
    session: Session, rated: Sequence[tuple[Rating, Ticket]], labels: _Labels
) -> list[RatingGroup]:
    """Ratings by the specialist's room (§36); the meeting rooms the visits moved to beside.

    A rating saved before the rule took the meeting room as its room: it is counted under
    the room the visit came from (the reservation's), else the specialist's own.
    """
    ticket_ids = [t.id for _r, t in rated]
    moved: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    if ticket_ids:
        rows = session.exec(
            select(RoomReservation.ticket_id, RoomReservation.room_id, RoomReservation.from_room_id)
            .where(col(RoomReservation.ticket_id).in_(ticket_ids))
            .order_by(col(RoomReservation.id))
        ).all()
        for ticket_id, room_id, from_room_id in rows:
            if ticket_id is not None:
                moved[ticket_id].append((room_id, from_room_id))
    meeting: dict[int, Counter[str]] = defaultdict(Counter)
    scores: list[tuple[int, int]] = []
    for r, t in rated:
        reservations = moved.get(t.id or 0, [])
        home = _home_room(r, reservations, labels)
        scores.append((home, r.score))
        for room_id in dict.fromkeys(room for room, _from in reservations):
            meeting[home][labels.room_label(room_id)] += 1
    return [
        replace(group, meeting_rooms=tuple(sorted(meeting[int(group.key)].items())))
        for group in _group(scores, labels.room_label)
    ]


def _home_room(
    rating: Rating, reservations: Sequence[tuple[int, int | None]], labels: _Labels
) -> int:
    """The room a rating counts under: its own, unless that is a meeting room (older ratings)."""
    room = labels.rooms.get(rating.room_id)
    if room is None or room.kind != RoomKind.MEETING:
        return rating.room_id
    came_from = next((f for _room, f in reservations if f is not None), None)
    staff = labels.staff.get(rating.staff_id)
    return came_from or (staff.room_id if staff and staff.room_id else rating.room_id)


def _late_row(label: str, tickets: Sequence[Ticket]) -> LateRow:
    called = [t for t in tickets if t.called_at is not None]
    late = [t.late_start_minutes for t in called if t.late_start_minutes]
    return LateRow(
        label=label,
        called=len(called),
        late=len(late),
        share=len(late) / len(called) if called else None,
        mean_minutes=sum(late) / len(late) if late else None,
        max_minutes=max(late) if late else None,
    )


@dataclass(frozen=True)
class _Labels:
    """Names of the staff, services and rooms the report's rows point to."""

    staff: dict[int | None, Staff]
    services: dict[int | None, Service]
    rooms: dict[int | None, Room]

    def staff_label(self, staff_id: Any) -> str:
        staff = self.staff.get(staff_id)
        return staff.short_name if staff else "—"

    def service_label(self, service_id: Any) -> str:
        service = self.services.get(service_id)
        return service.name if service else "—"

    def room_label(self, room_id: Any) -> str:
        room = self.rooms.get(room_id)
        return room.place if room else "—"


def _labels(session: Session) -> _Labels:
    return _Labels(
        staff={s.id: s for s in session.exec(select(Staff)).all()},
        services={s.id: s for s in session.exec(select(Service)).all()},
        rooms={r.id: r for r in session.exec(select(Room)).all()},
    )


def _scope_where(
    model: type[Ticket] | type[Rating] | type[Booking], scope: ReportScope, filters: ReportFilter
) -> list[Any]:
    """§36 scope and the filters as SQL: own rows, the staff of one unit, one service."""
    where: list[Any] = []
    if scope.staff_id is not None:
        where.append(col(model.staff_id) == scope.staff_id)
    unit = scope.unit or filters.unit
    if unit:
        where.append(col(model.staff_id).in_(select(Staff.id).where(Staff.unit == unit)))
    if filters.service_id:
        where.append(col(model.service_id) == filters.service_id)
    return where


def _in_period(filters: ReportFilter) -> tuple[Any, Any]:
    return (
        col(Ticket.office_day) >= filters.date_from,
        col(Ticket.office_day) <= filters.date_to,
    )


def report_tickets(*, session: Session, scope: ReportScope, filters: ReportFilter) -> list[Ticket]:
    """The tickets of the period within the scope and filters."""
    stmt = select(Ticket).where(*_in_period(filters), *_scope_where(Ticket, scope, filters))
    return list(session.exec(stmt).all())


def report_ratings(
    *, session: Session, scope: ReportScope, filters: ReportFilter
) -> list[tuple[Rating, Ticket]]:
    """The ratings of the period's tickets within the scope and filters, newest first."""
    stmt = (
        select(Rating, Ticket)
        .join(Ticket, col(Ticket.id) == Rating.ticket_id)
        .where(*_in_period(filters), *_scope_where(Rating, scope, filters))
        .order_by(col(Rating.created_at).desc())
    )
    return [(r, t) for r, t in session.exec(stmt).all()]


def report_no_show(
    *,
    session: Session,
    calendar: WorkCalendar,
    scope: ReportScope,
    filters: ReportFilter,
    until: datetime,
) -> NoShowStats:
    """Bookings due in the period (and before `until`) that never came, or were called in vain."""
    start = calendar.at(filters.date_from, datetime.min.time())
    end = calendar.at(filters.date_to + timedelta(days=1), datetime.min.time())
    bookings = session.exec(
        select(Booking).where(
            col(Booking.starts_at) >= start,
            col(Booking.starts_at) < min(end, until),
            Booking.status != BookingStatus.CANCELLED,
            *_scope_where(Booking, scope, filters),
        )
    ).all()
    ticket_by_booking = {
        t.booking_id: t
        for t in session.exec(
            select(Ticket).where(col(Ticket.booking_id).in_([b.id for b in bookings] or [0]))
        ).all()
    }

    def missed(b: Booking) -> bool:
        ticket = ticket_by_booking.get(b.id or 0)
        if ticket is not None:
            return ticket.status == TicketStatus.NO_SHOW
        return b.status in (BookingStatus.NO_SHOW, BookingStatus.BOOKED)

    return NoShowStats(due=len(bookings), missed=sum(1 for b in bookings if missed(b)))


def _wait(ticket: Ticket) -> float | None:
    return _minutes(ticket.checked_in_at, ticket.called_at)


def _service_minutes(tickets: Iterable[Ticket]) -> Iterable[float]:
    for t in tickets:
        if t.status == TicketStatus.DONE:
            minutes = _minutes(t.started_at or t.called_at, t.finished_at)
            if minutes is not None:
                yield minutes


def report_by_day(
    tickets: Sequence[Ticket], rated: Sequence[tuple[Rating, Ticket]]
) -> list[DayRow]:
    """One row per office day that has tickets or ratings."""
    by_day_tickets: dict[date, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_day_tickets[t.office_day].append(t)
    by_day_scores: dict[date, list[int]] = defaultdict(list)
    for r, t in rated:
        by_day_scores[t.office_day].append(r.score)
    rows = []
    for day in sorted(set(by_day_tickets) | set(by_day_scores)):
        day_tickets = by_day_tickets.get(day, [])
        rows.append(
            DayRow(
                day=day,
                tickets=len(day_tickets),
                served=sum(1 for t in day_tickets if t.status == TicketStatus.DONE),
                no_shows=sum(1 for t in day_tickets if t.status == TicketStatus.NO_SHOW),
                ratings=rating_stats(by_day_scores.get(day, [])),
                wait_median=percentile([w for w in map(_wait, day_tickets) if w is not None], 50),
            )
        )
    return rows


def report_late(tickets: Sequence[Ticket], labels: _Labels) -> list[LateRow]:
    """§34.4: late starts per specialist, by name."""
    by_staff: dict[int, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_staff[t.staff_id].append(t)
    rows = (_late_row(labels.staff_label(sid), ts) for sid, ts in by_staff.items())
    return sorted(rows, key=lambda row: row.label)


def report_faults(tickets: Sequence[Ticket], scope: ReportScope, labels: _Labels) -> list[FaultRow]:
    """§35.5: the department's faults marked in the period, newest first, as far as the scope shows."""
    marked = sorted(
        (t for t in tickets if t.department_fault),
        key=lambda t: t.department_fault_at or t.checked_in_at,
        reverse=True,
    )
    return [
        FaultRow(
            day=t.office_day,
            reason=t.department_fault or "",
            staff_label=labels.staff_label(t.staff_id) if scope.show_names else None,
            ticket_number=t.number if scope.show_tickets else None,
        )
        for t in marked
    ]


def report_comments(
    rated: Sequence[tuple[Rating, Ticket]], scope: ReportScope, labels: _Labels
) -> list[CommentRow]:
    """Ratings with a comment or reasons; names and tickets only as far as the scope shows."""
    return [
        CommentRow(
            at=r.created_at,
            day=t.office_day,
            score=r.score,
            reasons=list(r.reasons),
            comment=r.comment,
            staff_label=labels.staff_label(r.staff_id) if scope.show_names else None,
            ticket_id=t.id if scope.open_tickets else None,
            ticket_number=t.number if scope.show_tickets else None,
        )
        for r, t in rated
        if r.comment or r.reasons
    ]


def report_build(
    *,
    session: Session,
    calendar: WorkCalendar,
    scope: ReportScope,
    filters: ReportFilter,
    now: datetime | None = None,
    checkin_grace: timedelta = timedelta(minutes=15),
) -> Report:
    """Ratings, waits, service times, no-shows and late starts for a period and scope."""
    labels = _labels(session)
    tickets = report_tickets(session=session, scope=scope, filters=filters)
    rated = report_ratings(session=session, scope=scope, filters=filters)
    waits = (w for w in map(_wait, tickets) if w is not None)
    units = {s.unit for s in labels.staff.values() if s.unit and s.has_role(Role.SPECIALIST)}
    return Report(
        filters=filters,
        scope=scope,
        ratings=rating_stats(r.score for r, _t in rated),
        by_staff=_group(((r.staff_id, r.score) for r, _t in rated), labels.staff_label),
        by_service=_group(((r.service_id, r.score) for r, _t in rated), labels.service_label),
        by_room=report_by_room(session, rated, labels),
        by_day=report_by_day(tickets, rated),
        wait=duration_stats(waits),
        service_time=duration_stats(_service_minutes(tickets)),
        no_show=report_no_show(
            session=session,
            calendar=calendar,
            scope=scope,
            filters=filters,
            until=(now or utcnow()) - checkin_grace,
        ),
        late=report_late(tickets, labels),
        late_total=_late_row("Всего", tickets),
        comments=report_comments(rated, scope, labels),
        units=sorted(units),
        faults=report_faults(tickets, scope, labels),
        calls=calls_report(
            session,
            calendar=calendar,
            date_from=filters.date_from,
            date_to=filters.date_to,
            staff_id=scope.staff_id,
            unit=scope.unit or filters.unit,
            service_id=filters.service_id,
            now=now,
        ),
    )


# ---------------------------------------------------------------- low-rating alerts


@dataclass(frozen=True)
class LowRatingAlert:
    rating_id: int
    at: datetime
    score: int
    reasons: list[str]
    comment: str
    ticket_id: int
    ticket_number: str
    staff_label: str
    unit: str


def low_rating_alerts(
    *, session: Session, staff: Staff, days: int = 7, now: datetime | None = None
) -> list[LowRatingAlert]:
    """Ratings of 1-2 of the last days: a unit head's own unit, everything for an administrator."""
    scope = report_scope_for(staff)
    if scope is None or not scope.see_alerts:
        return []
    since = (now or utcnow()) - timedelta(days=days)
    stmt = (
        select(Rating, Ticket, Staff)
        .join(Ticket, col(Ticket.id) == Rating.ticket_id)
        .join(Staff, col(Staff.id) == Rating.staff_id)
        .where(col(Rating.score) <= LOW_SCORE, col(Rating.created_at) >= since)
        .order_by(col(Rating.created_at).desc())
    )
    if scope.unit is not None:
        stmt = stmt.where(Staff.unit == scope.unit)
    rows = session.exec(stmt).all()
    return [
        LowRatingAlert(
            rating_id=r.id or 0,
            at=r.created_at,
            score=r.score,
            reasons=list(r.reasons),
            comment=r.comment,
            ticket_id=t.id or 0,
            ticket_number=t.number,
            staff_label=s.short_name,
            unit=s.unit,
        )
        for r, t, s in rows
    ]


# ---------------------------------------------------------------- one ticket (administrator)


@dataclass(frozen=True)
class TicketCard:
    ticket: Ticket
    client_name: str
    client_phone: str
    service: str
    staff: str
    room: str
    rating: Rating | None


def report_ticket_card(*, session: Session, ticket_id: int) -> TicketCard | None:
    """The ticket behind a rating, for the administrator."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    client = session.get(Client, ticket.client_id)
    service = session.get(Service, ticket.service_id)
    staff = session.get(Staff, ticket.staff_id)
    room = session.get(Room, ticket.room_id)
    rating = session.exec(select(Rating).where(Rating.ticket_id == ticket_id)).first()
    return TicketCard(
        ticket=ticket,
        client_name=client.full_name if client else "—",
        client_phone=client.masked_phone if client else "—",
        service=service.name if service else "—",
        staff=staff.full_name if staff else "—",
        room=room.place if room else "—",
        rating=rating,
    )
