"""Check-ins racing on real commits: distinct numbers, one ticket per booking.

Run on both backends: `--db=sqlite --db=postgres`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlmodel import select

from tests.conftest import Database
from tests.factories import make_client, make_device, service_by_code, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.db import make_sessionmaker
from visits.models import Booking, DeviceKind, PrintJob, Ticket, TicketCounter
from visits.services.booking import booking_code_new
from visits.services.checkin import CheckinResult, checkin_booking

T = TypeVar("T")

pytestmark = pytest.mark.slow


def _seed(db: Database, count: int) -> tuple[list[int], int]:
    """`count` bookings of one service (one letter) starting in ten minutes, and a kiosk."""
    with make_sessionmaker(db.engine)() as session:
        client = make_client(session)
        service = service_by_code(session, "land-lease")
        staff = staff_by_login(session, "ivanova")
        starts = utcnow() + timedelta(minutes=10)
        bookings = [
            Booking(
                code=booking_code_new(),
                client_id=client.id,
                service_id=service.id,
                staff_id=staff.id,
                room_id=staff.room_id,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=30),
            )
            for _ in range(count)
        ]
        session.add_all(bookings)
        session.commit()
        device, _token = make_device(session, DeviceKind.KIOSK)
        return [b.id for b in bookings if b.id is not None], device.id or 0


def _race(threads: int, jobs: list[Callable[[], T]]) -> list[T]:
    """Run the jobs on `threads` threads, all released at once."""
    gate = threading.Event()

    def run(job: Callable[[], T]) -> T:
        gate.wait(timeout=10)
        return job()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        gate.set()
        return [f.result() for f in futures]


def _checkin(
    db: Database, calendar: WorkCalendar, booking_id: int, device_id: int
) -> CheckinResult:
    with make_sessionmaker(db.engine)() as session:
        return checkin_booking(
            session=session, calendar=calendar, booking_id=booking_id, device_id=device_id
        )


def test_200_check_ins_from_20_threads_get_200_distinct_numbers(
    fresh_db: Database, calendar: WorkCalendar
) -> None:
    booking_ids, device_id = _seed(fresh_db, 200)
    results = _race(
        20,
        [
            (lambda b=b: _checkin(fresh_db, calendar, b, device_id))  # type: ignore[misc]
            for b in booking_ids
        ],
    )
    numbers = {r.info.number for r in results}
    assert len(numbers) == 200
    assert numbers == {f"А-{n:03d}" for n in range(1, 201)}
    with make_sessionmaker(fresh_db.engine)() as session:
        assert len(session.exec(select(Ticket)).all()) == 200
        counter = session.exec(select(TicketCounter)).one()
        assert counter.last_seq == 200


def test_same_booking_from_5_threads_gives_one_ticket(
    fresh_db: Database, calendar: WorkCalendar
) -> None:
    (booking_id,), device_id = _seed(fresh_db, 1)
    results = _race(
        5, [lambda: _checkin(fresh_db, calendar, booking_id, device_id) for _ in range(5)]
    )
    assert len({r.info.ticket_id for r in results}) == 1
    assert sum(not r.reprint for r in results) == 1
    with make_sessionmaker(fresh_db.engine)() as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        # One press from five hands at once: one print job, not five.
        assert len(session.exec(select(PrintJob)).all()) == 1
        assert session.exec(select(TicketCounter)).one().last_seq == 1
