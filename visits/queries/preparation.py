"""§34.4 "заблаговременно": the specialist's visits of the next working day, to prepare.

The order: preparation for a planned meeting is done in advance; documents are
printed and the questions listed before the visit. So the day before, the
specialist sees tomorrow's visits, each client's card and the documents the
service needs, and marks each visit «подготовлено».
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, func, select

from visits.calendar import WorkCalendar, utcnow
from visits.models import Booking, BookingStatus, Client, ClientNote, Service, Staff, Ticket
from visits.ru import date_with_weekday


@dataclass(frozen=True)
class PreparationRow:
    booking: Booking
    client: Client
    service: Service
    local_start: datetime
    documents: list[str]
    earlier_visits: int
    notes: int

    @property
    def prepared(self) -> bool:
        return self.booking.prepared_at is not None


@dataclass(frozen=True)
class Preparation:
    day: date
    rows: list[PreparationRow]

    @property
    def day_text(self) -> str:
        return date_with_weekday(self.day)

    @property
    def prepared_count(self) -> int:
        return sum(1 for r in self.rows if r.prepared)


def preparation_day(calendar: WorkCalendar, now: datetime | None = None) -> date:
    """The next working day after today (the day a specialist prepares for)."""
    today = calendar.to_local(now or utcnow()).date()
    return calendar.next_working_day(today)


def visits_to_prepare(
    session: Session, calendar: WorkCalendar, staff: Staff, now: datetime | None = None
) -> Preparation:
    """§34.4: this specialist's booked visits of the next working day, with what each needs."""
    day = preparation_day(calendar, now)
    start = calendar.at(day, time(0, 0))
    end = calendar.at(day + timedelta(days=1), time(0, 0))
    bookings = session.exec(
        select(Booking)
        .where(
            Booking.staff_id == staff.id,
            Booking.status == BookingStatus.BOOKED,
            col(Booking.starts_at) >= start,
            col(Booking.starts_at) < end,
        )
        .order_by(col(Booking.starts_at))
    ).all()
    client_ids = {b.client_id for b in bookings}
    clients = {c.id: c for c in session.exec(select(Client).where(col(Client.id).in_(client_ids)))}
    services = {s.id: s for s in session.exec(select(Service))}
    visits = dict(
        session.exec(
            select(Ticket.client_id, func.count(col(Ticket.id)))
            .where(col(Ticket.client_id).in_(client_ids))
            .group_by(col(Ticket.client_id))
        ).all()
    )
    notes = dict(
        session.exec(
            select(ClientNote.client_id, func.count(col(ClientNote.id)))
            .where(col(ClientNote.client_id).in_(client_ids))
            .group_by(col(ClientNote.client_id))
        ).all()
    )
    rows = [
        PreparationRow(
            booking=b,
            client=clients[b.client_id],
            service=services[b.service_id],
            local_start=calendar.to_local(b.starts_at),
            documents=list(services[b.service_id].documents),
            earlier_visits=visits.get(b.client_id, 0),
            notes=notes.get(b.client_id, 0),
        )
        for b in bookings
    ]
    return Preparation(day=day, rows=rows)
