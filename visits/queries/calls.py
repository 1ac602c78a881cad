"""Reading the consultation line (§18-27): the desk, a call card, colleagues, the call-backs."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from visits.calendar import WorkCalendar, utcnow
from visits.config import CallTopic, DirectoryEntry, OfficeConfig
from visits.errors import NotFound
from visits.models import (
    Booking,
    Call,
    CallBack,
    CallBooking,
    CallHandover,
    CallOutcome,
    CallStatus,
    Client,
    Role,
    Service,
    Staff,
    StaffService,
)
from visits.ru import Case, by_gender_of, decline_name


def bookings_during(session: Session, *, call: Call, now: datetime) -> list[tuple[Booking, str]]:
    """Bookings made or cancelled at the desk for the caller while the call lasted (§28, §32).

    The desk books as it always does; the link to the call is found by who acted
    (a staff member who held the call), for whom (the caller) and when (during it).
    """
    if call.client_id is None:
        return []
    holders = {call.opened_by_staff_id, call.staff_id}
    holders |= set(
        session.exec(select(CallHandover.to_staff_id).where(CallHandover.call_id == call.id)).all()
    )
    rows = session.exec(
        select(Booking).where(
            Booking.client_id == call.client_id,
            or_(
                col(Booking.created_by_staff_id).in_(holders)
                & (col(Booking.created_at) >= call.opened_at)
                & (col(Booking.created_at) <= now),
                col(Booking.cancelled_by_staff_id).in_(holders)
                & (col(Booking.cancelled_at) >= call.opened_at)
                & (col(Booking.cancelled_at) <= now),
            ),
        )
    ).all()
    result: list[tuple[Booking, str]] = []
    for booking in sorted(rows, key=lambda b: b.id or 0):
        if call.opened_at <= booking.created_at <= now:
            result.append((booking, "booked"))
        if booking.cancelled_at is not None and call.opened_at <= booking.cancelled_at <= now:
            result.append((booking, "cancelled"))
    return result


def call_bookings(
    session: Session, *, call: Call, now: datetime | None = None
) -> list[tuple[Booking, str]]:
    """The bookings linked to a call: stored once it is closed, found at the desk while open."""
    if call.status == CallStatus.CLOSED:
        links = session.exec(
            select(CallBooking, Booking)
            .join(Booking, col(Booking.id) == CallBooking.booking_id)
            .where(CallBooking.call_id == call.id)
            .order_by(col(CallBooking.id))
        ).all()
        return [(booking, link.action) for link, booking in links]
    return bookings_during(session, call=call, now=now or utcnow())


@dataclass(frozen=True)
class CallRow:
    call: Call
    client: Client | None
    holder: Staff
    topic: CallTopic | None


@dataclass(frozen=True)
class HandoverRow:
    handover: CallHandover
    sender: Staff
    colleague: Staff

    @property
    def line(self) -> str:
        """ "Белова Н. Г. переключила звонок на Марию Петровну Иванову"."""
        verb = by_gender_of(self.sender, "переключил", "переключила")
        whom = decline_name(
            first_name=self.colleague.first_name,
            patronymic=self.colleague.patronymic,
            surname=self.colleague.surname,
            case=Case.ACCUSATIVE,
        )
        return f"{self.sender.short_name} {verb} звонок на {whom}"


@dataclass(frozen=True)
class CallBackRow:
    callback: CallBack
    client: Client | None
    responsible: Staff
    done_by: Staff | None = None
    now: datetime = field(default_factory=utcnow)

    @property
    def late(self) -> bool:
        """Past the deadline told to the caller (done late, or still open after it)."""
        moment = self.callback.done_at or self.now
        return moment > self.callback.late_after

    @property
    def due_now(self) -> bool:
        return self.callback.done_at is None and self.callback.due_at <= self.now


@dataclass
class CallCard:
    call: Call
    client: Client | None
    opener: Staff
    holder: Staff
    topic: CallTopic | None
    service: Service | None
    handovers: list[HandoverRow]
    callbacks: list[CallBackRow]
    bookings: list[tuple[Booking, str]]
    now: datetime

    @property
    def seconds(self) -> int:
        """Time on the call: to the close, or to now while it lasts."""
        if self.call.duration_seconds is not None:
            return self.call.duration_seconds
        return max(0, int((self.now - self.call.opened_at).total_seconds()))

    @property
    def is_open(self) -> bool:
        return self.call.status == CallStatus.OPEN


def _staff_map(session: Session, ids: set[int]) -> dict[int, Staff]:
    if not ids:
        return {}
    return {
        s.id: s for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all() if s.id
    }


def _clients_map(session: Session, ids: set[int]) -> dict[int, Client]:
    if not ids:
        return {}
    return {
        c.id: c for c in session.exec(select(Client).where(col(Client.id).in_(ids))).all() if c.id
    }


def _topic(config: OfficeConfig, key: str) -> CallTopic | None:
    return next((t for t in config.consultation.topics if t.key == key), None)


def call_card(
    session: Session, *, config: OfficeConfig, call_id: int, now: datetime | None = None
) -> CallCard:
    """Everything the card shows: the caller, the topic, hand-overs, call-backs, bookings."""
    now = now or utcnow()
    call = session.get(Call, call_id, populate_existing=True)
    if call is None:
        raise NotFound("Звонок не найден.")
    handovers = list(
        session.exec(
            select(CallHandover)
            .where(CallHandover.call_id == call_id)
            .order_by(col(CallHandover.id))
        ).all()
    )
    callbacks = list(
        session.exec(
            select(CallBack).where(CallBack.call_id == call_id).order_by(col(CallBack.id))
        ).all()
    )
    ids = {call.opened_by_staff_id, call.staff_id}
    ids |= {h.from_staff_id for h in handovers} | {h.to_staff_id for h in handovers}
    ids |= {c.staff_id for c in callbacks} | {
        c.done_by_staff_id for c in callbacks if c.done_by_staff_id
    }
    staff = _staff_map(session, ids)
    client = session.get(Client, call.client_id) if call.client_id else None
    return CallCard(
        call=call,
        client=client,
        opener=staff[call.opened_by_staff_id],
        holder=staff[call.staff_id],
        topic=_topic(config, call.topic),
        service=session.get(Service, call.service_id) if call.service_id else None,
        handovers=[
            HandoverRow(handover=h, sender=staff[h.from_staff_id], colleague=staff[h.to_staff_id])
            for h in handovers
        ],
        callbacks=[
            CallBackRow(
                callback=c,
                client=client,
                responsible=staff[c.staff_id],
                done_by=staff.get(c.done_by_staff_id or 0),
                now=now,
            )
            for c in callbacks
        ],
        bookings=call_bookings(session, call=call, now=now),
        now=now,
    )


def call_visible_to(card: CallCard, staff: Staff) -> bool:
    """Operators and administrators see every call; a specialist the calls they took part in:
    handed over to them (§23) or with a call-back of theirs (§24)."""
    if staff.has_role(Role.OPERATOR) or staff.has_role(Role.ADMINISTRATOR):
        return True
    involved: set[int | None] = {card.call.staff_id, card.call.opened_by_staff_id}
    involved |= {h.colleague.id for h in card.handovers}
    involved |= {r.responsible.id for r in card.callbacks}
    return staff.id in involved


@dataclass
class LineDesk:
    """The line's desk for one staff member: calls they hold now and their recent ones."""

    open_calls: list[CallRow]
    recent: list[CallRow]


def line_desk(
    session: Session,
    *,
    config: OfficeConfig,
    staff: Staff,
    now: datetime | None = None,
    recent_hours: int = 12,
) -> LineDesk:
    """Open calls held by this staff member (also handed over to them), then the last closed."""
    now = now or utcnow()
    open_calls = list(
        session.exec(
            select(Call)
            .where(Call.staff_id == staff.id, Call.status == CallStatus.OPEN)
            .order_by(col(Call.opened_at))
            .limit(50)
        ).all()
    )
    recent = list(
        session.exec(
            select(Call)
            .where(
                or_(Call.closed_by_staff_id == staff.id, Call.opened_by_staff_id == staff.id),
                Call.status == CallStatus.CLOSED,
                col(Call.closed_at) >= now - timedelta(hours=recent_hours),
            )
            .order_by(col(Call.closed_at).desc())
            .limit(20)
        ).all()
    )
    everything = open_calls + recent
    clients = _clients_map(session, {c.client_id for c in everything if c.client_id})
    staff_by_id = _staff_map(session, {c.staff_id for c in everything})

    def row(call: Call) -> CallRow:
        return CallRow(
            call=call,
            client=clients.get(call.client_id or 0),
            holder=staff_by_id[call.staff_id],
            topic=_topic(config, call.topic),
        )

    return LineDesk(open_calls=[row(c) for c in open_calls], recent=[row(c) for c in recent])


def calls_incoming(session: Session, *, config: OfficeConfig, staff: Staff) -> list[CallRow]:
    """Open calls this staff member holds, shown on every page of their panel: those handed
    over to them (§23) and their own, to get back to the card from the desk or elsewhere."""
    calls = list(
        session.exec(
            select(Call)
            .where(Call.staff_id == staff.id, Call.status == CallStatus.OPEN)
            .order_by(col(Call.handover_count).desc(), col(Call.opened_at))
            .limit(10)
        ).all()
    )
    clients = _clients_map(session, {c.client_id for c in calls if c.client_id})
    return [
        CallRow(
            call=c,
            client=clients.get(c.client_id or 0),
            holder=staff,
            topic=_topic(config, c.topic),
        )
        for c in calls
    ]


@dataclass(frozen=True)
class Colleague:
    staff: Staff
    # Why first: the service or unit of the topic (§23: the most competent colleague).
    reason: str


def handover_candidates(session: Session, *, config: OfficeConfig, call: Call) -> list[Colleague]:
    """Colleagues to hand the call to: those with the call's service or topic unit first."""
    everyone = [
        s
        for s in session.exec(
            select(Staff).where(col(Staff.active).is_(True)).order_by(col(Staff.surname))
        ).all()
        if s.id != call.staff_id and (s.has_role(Role.SPECIALIST) or s.has_role(Role.OPERATOR))
    ]
    with_service: set[int] = set()
    if call.service_id is not None:
        with_service = set(
            session.exec(
                select(StaffService.staff_id).where(StaffService.service_id == call.service_id)
            ).all()
        )
    topic = _topic(config, call.topic)
    units = set(topic.units) if topic else set()
    first, rest = [], []
    for member in everyone:
        if member.id in with_service:
            first.append(Colleague(member, "ведёт эту услугу"))
        elif member.unit in units:
            first.append(Colleague(member, "отдел по этой теме"))
        else:
            rest.append(Colleague(member, ""))
    return first + rest


def directory_search(config: OfficeConfig, query: str) -> list[tuple[int, DirectoryEntry]]:
    """§26: the directory entries whose topics or name contain every word typed."""
    words = [w for w in query.lower().split() if w]
    found = []
    for index, entry in enumerate(config.directory):
        text = f"{entry.name} {entry.topics}".lower()
        if all(_word_in(w, text) for w in words):
            found.append((index, entry))
    return found


def _word_in(word: str, text: str) -> bool:
    # "налога" finds "налог": compare on the stem, the last letters of a Russian word vary.
    stem = word[: max(4, len(word) - 3)] if len(word) > 5 else word
    return stem in text


def callbacks_list(
    session: Session,
    *,
    staff: Staff,
    now: datetime | None = None,
    done_within: timedelta = timedelta(hours=12),
) -> list[CallBackRow]:
    """Promised call-backs in due order, open first (§24); a specialist sees their own.

    Operators and administrators see every call-back: the line answers for all of them.
    """
    now = now or utcnow()
    stmt = select(CallBack).where(
        or_(col(CallBack.done_at).is_(None), col(CallBack.done_at) >= now - done_within)
    )
    if not (staff.has_role(Role.OPERATOR) or staff.has_role(Role.ADMINISTRATOR)):
        stmt = stmt.where(CallBack.staff_id == staff.id)
    rows = list(
        session.exec(
            stmt.order_by(
                col(CallBack.done_at).is_not(None), col(CallBack.due_at), col(CallBack.id)
            ).limit(300)
        ).all()
    )
    staff_by_id = _staff_map(
        session,
        {r.staff_id for r in rows} | {r.done_by_staff_id for r in rows if r.done_by_staff_id},
    )
    clients = _clients_map(session, {r.client_id for r in rows if r.client_id})
    return [
        CallBackRow(
            callback=r,
            client=clients.get(r.client_id or 0),
            responsible=staff_by_id[r.staff_id],
            done_by=staff_by_id.get(r.done_by_staff_id or 0),
            now=now,
        )
        for r in rows
    ]


def callback_row(session: Session, *, callback_id: int, now: datetime | None = None) -> CallBackRow:
    """One call-back with its people (to re-render its row)."""
    callback = session.get(CallBack, callback_id, populate_existing=True)
    if callback is None:
        raise NotFound("Перезвон не найден.")
    staff = _staff_map(
        session,
        {callback.staff_id} | ({callback.done_by_staff_id} if callback.done_by_staff_id else set()),
    )
    return CallBackRow(
        callback=callback,
        client=session.get(Client, callback.client_id) if callback.client_id else None,
        responsible=staff[callback.staff_id],
        done_by=staff.get(callback.done_by_staff_id or 0),
        now=now or utcnow(),
    )


# ---------------------------------------------------------------- reports (§18-27)


@dataclass(frozen=True)
class CallDayRow:
    day: date
    total: int
    by_topic: dict[str, int]
    first_contact: int
    handovers: int
    non_business: int


@dataclass(frozen=True)
class CallsReport:
    """The line over a period: calls by day and topic, first-contact answers, hand-overs,
    call-backs kept on time and late, non-business calls."""

    topics: list[CallTopic]
    by_day: list[CallDayRow]
    by_topic: list[tuple[str, int]]
    total: int
    closed: int
    first_contact: int
    handovers: int
    handed_calls: int
    handed_twice: int
    referred: int
    non_business: int
    callbacks: int
    callbacks_on_time: int
    callbacks_late: int
    callbacks_overdue: int
    callbacks_waiting: int
    mean_minutes: float | None

    @property
    def first_contact_share(self) -> float | None:
        return self.first_contact / self.closed if self.closed else None

    @property
    def on_time_share(self) -> float | None:
        done = self.callbacks_on_time + self.callbacks_late
        return self.callbacks_on_time / done if done else None


# Answered at the first contact: the answer or the booking in the call itself (§22, §28),
# without a hand-over (§23) or a call-back (§24).
_FIRST_CONTACT = (CallOutcome.ANSWERED.value, CallOutcome.BOOKED.value)


def _calls_in_scope(*, staff_id: int | None, unit: str | None, service_id: int | None) -> list[Any]:
    """A specialist's own calls (held at any point), a unit's, one service's."""
    where: list[Any] = []
    members: Any = None
    if staff_id is not None:
        members = select(Staff.id).where(Staff.id == staff_id)
    elif unit:
        members = select(Staff.id).where(Staff.unit == unit)
    if members is not None:
        handed = select(CallHandover.call_id).where(col(CallHandover.to_staff_id).in_(members))
        where.append(
            or_(
                col(Call.opened_by_staff_id).in_(members),
                col(Call.staff_id).in_(members),
                col(Call.id).in_(handed),
            )
        )
    if service_id:
        where.append(col(Call.service_id) == service_id)
    return where


def _answered_first(c: Call) -> bool:
    """Tell whether the call was answered at the first contact."""
    return c.outcome in _FIRST_CONTACT and c.handover_count == 0


def _report_calls(
    session: Session,
    *,
    calendar: WorkCalendar,
    date_from: date,
    date_to: date,
    staff_id: int | None,
    unit: str | None,
    service_id: int | None,
) -> list[Call]:
    """Load the calls opened in the office days `date_from`..`date_to` within the scope."""
    start = calendar.at(date_from, time.min)
    end = calendar.at(date_to + timedelta(days=1), time.min)
    return list(
        session.exec(
            select(Call).where(
                col(Call.opened_at) >= start,
                col(Call.opened_at) < end,
                *_calls_in_scope(staff_id=staff_id, unit=unit, service_id=service_id),
            )
        ).all()
    )


def _report_callbacks(session: Session, calls: list[Call]) -> list[CallBack]:
    """Load the call-backs promised on these calls."""
    ids = [c.id for c in calls if c.id is not None]
    return (
        list(session.exec(select(CallBack).where(col(CallBack.call_id).in_(ids))).all())
        if ids
        else []
    )


def _call_day_rows(
    calendar: WorkCalendar, calls: list[Call], topics: list[CallTopic]
) -> list[CallDayRow]:
    """Count the calls of each office day, by topic, first-contact answers and hand-overs."""
    by_day: dict[date, list[Call]] = defaultdict(list)
    for c in calls:
        by_day[calendar.to_local(c.opened_at).date()].append(c)
    return [
        CallDayRow(
            day=day,
            total=len(day_calls),
            by_topic={t.key: sum(1 for c in day_calls if c.topic == t.key) for t in topics},
            first_contact=sum(1 for c in day_calls if _answered_first(c)),
            handovers=sum(c.handover_count for c in day_calls),
            non_business=sum(1 for c in day_calls if c.outcome == CallOutcome.NON_BUSINESS),
        )
        for day, day_calls in sorted(by_day.items())
    ]


def calls_report(
    session: Session,
    *,
    calendar: WorkCalendar,
    date_from: date,
    date_to: date,
    staff_id: int | None = None,
    unit: str | None = None,
    service_id: int | None = None,
    now: datetime | None = None,
) -> CallsReport:
    """The consultation line's figures for the office days `date_from`..`date_to`."""
    now = now or utcnow()
    calls = _report_calls(
        session,
        calendar=calendar,
        date_from=date_from,
        date_to=date_to,
        staff_id=staff_id,
        unit=unit,
        service_id=service_id,
    )
    callbacks = _report_callbacks(session, calls)
    topics = list(calendar.config.consultation.topics)
    closed = [c for c in calls if c.status == CallStatus.CLOSED]
    topic_counts = Counter(c.topic for c in calls)
    durations = [c.duration_seconds / 60 for c in closed if c.duration_seconds is not None]
    done = [cb for cb in callbacks if cb.done_at is not None]
    return CallsReport(
        topics=topics,
        by_day=_call_day_rows(calendar, calls, topics),
        by_topic=[(t.name, topic_counts.get(t.key, 0)) for t in topics]
        + ([("Тема не выбрана", topic_counts[""])] if topic_counts.get("") else []),
        total=len(calls),
        closed=len(closed),
        first_contact=sum(1 for c in closed if _answered_first(c)),
        handovers=sum(c.handover_count for c in calls),
        handed_calls=sum(1 for c in calls if c.handover_count),
        handed_twice=sum(1 for c in calls if c.handover_count >= 2),
        referred=sum(1 for c in closed if c.outcome == CallOutcome.REFERRED),
        non_business=sum(1 for c in closed if c.outcome == CallOutcome.NON_BUSINESS),
        callbacks=len(callbacks),
        callbacks_on_time=sum(1 for cb in done if cb.done_at and cb.done_at <= cb.late_after),
        callbacks_late=sum(1 for cb in done if cb.done_at and cb.done_at > cb.late_after),
        callbacks_overdue=sum(1 for cb in callbacks if cb.done_at is None and now > cb.late_after),
        callbacks_waiting=sum(1 for cb in callbacks if cb.done_at is None and now <= cb.late_after),
        mean_minutes=sum(durations) / len(durations) if durations else None,
    )
