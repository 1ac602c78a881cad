"""20 callers at once, 500 calls in all: no ticket is ever called twice (real commits, threads)."""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from tests.conftest import Database
from tests.factories import make_client, next_working_moment
from visits.calendar import WorkCalendar
from visits.db import make_engine, make_sessionmaker
from visits.errors import Conflict
from visits.models import (
    Booking,
    BookingStatus,
    HistoryEntry,
    HistoryKind,
    Role,
    Service,
    Staff,
    StaffService,
    Ticket,
    TicketStatus,
)
from visits.services.queue import ticket_call_next

ROUNDS = 25
TERMINALS_PER_SPECIALIST = 2  # 10 specialists x 2 = 20 callers per round
TICKETS_PER_SPECIALIST = ROUNDS + 3


def _seed(session: Session, now: datetime) -> dict[int, list[int]]:
    """Waiting tickets for every specialist, booked a second apart; returns ids in booked order."""
    client = make_client(session)
    specialists = [
        s
        for s in session.exec(select(Staff).order_by(Staff.login)).all()
        if s.has_role(Role.SPECIALIST)
    ]
    seq = 0
    queues: dict[int, list[int]] = {}
    for person in specialists:
        link = session.exec(select(StaffService).where(StaffService.staff_id == person.id)).first()
        assert link is not None and person.room_id is not None and person.id is not None
        service = session.get(Service, link.service_id)
        assert service is not None
        ids = []
        for i in range(TICKETS_PER_SPECIALIST):
            seq += 1
            booked_at = now - timedelta(minutes=50) + timedelta(seconds=i)
            booking = Booking(
                code=f"T{seq:05d}",
                client_id=client.id or 0,
                service_id=service.id or 0,
                staff_id=person.id,
                room_id=person.room_id,
                starts_at=booked_at,
                ends_at=booked_at + timedelta(minutes=15),
                status=BookingStatus.CHECKED_IN,
            )
            session.add(booking)
            session.flush()
            ticket = Ticket(
                number=f"{service.letter}-{seq:03d}",
                letter=service.letter,
                seq=seq,
                office_day=now.date(),
                booking_id=booking.id or 0,
                client_id=client.id or 0,
                token=secrets.token_urlsafe(16),
                service_id=service.id or 0,
                staff_id=person.id,
                room_id=person.room_id,
                booked_at=booked_at,
                checked_in_at=booked_at - timedelta(minutes=5),
            )
            session.add(ticket)
            session.flush()
            ids.append(ticket.id or 0)
        queues[person.id] = ids
    session.commit()
    return queues


@pytest.mark.slow
def test_twenty_concurrent_callers_never_get_the_same_ticket(
    fresh_db: Database, calendar: WorkCalendar
) -> None:
    # One connection per caller: 20 threads hold theirs at the barrier.
    engine = make_engine(fresh_db.url, pool_size=25, max_overflow=5)
    factory = make_sessionmaker(engine)
    now = next_working_moment(calendar, hour=11, minute=0)
    with factory() as session:
        queues = _seed(session, now)
    callers = [sid for sid in queues for _ in range(TERMINALS_PER_SPECIALIST)]
    assert len(callers) == 20

    claims: list[tuple[int, int]] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def call(staff_id: int, barrier: threading.Barrier) -> None:
        with factory() as session:
            staff = session.get(Staff, staff_id)
            assert staff is not None
            barrier.wait()
            try:
                result = ticket_call_next(session=session, calendar=calendar, staff=staff, now=now)
            except Conflict as exc:
                with lock:
                    refused.append(exc.code)
            except BaseException as exc:  # reported below
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    claims.append((staff_id, result.ticket.id or 0))

    for _ in range(ROUNDS):
        barrier = threading.Barrier(len(callers))
        before = len(claims)
        threads = [threading.Thread(target=call, args=(sid, barrier)) for sid in callers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        round_claims = claims[before:]
        # Each specialist gets exactly one ticket per round; the second terminal is told so.
        assert sorted(sid for sid, _ in round_claims) == sorted(queues)
        with factory() as session:
            session.exec(
                update(Ticket)
                .where(col(Ticket.id).in_([tid for _, tid in round_claims]))
                .values(status=TicketStatus.DONE)
            )
            session.commit()

    assert len(claims) + len(refused) == ROUNDS * len(callers) == 500
    claimed_ids = [tid for _, tid in claims]
    assert len(claimed_ids) == len(set(claimed_ids)), "a ticket was called twice"
    assert set(refused) == {"busy"}
    by_staff: dict[int, list[int]] = defaultdict(list)
    for sid, tid in claims:
        by_staff[sid].append(tid)
    for sid, ids in by_staff.items():
        # In booked-time order, each from the caller's own queue.
        assert ids == queues[sid][:ROUNDS]
    with factory() as session:
        calls = session.exec(
            select(HistoryEntry.ticket_id, func.count())
            .where(HistoryEntry.kind == HistoryKind.CALLED)
            .group_by(col(HistoryEntry.ticket_id))
        ).all()
        assert len(calls) == len(claimed_ids) and all(n == 1 for _, n in calls)
    engine.dispose()
