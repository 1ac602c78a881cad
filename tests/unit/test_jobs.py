"""The scheduler: one per deployment (lease), housekeeping jobs, stuck sends."""

from __future__ import annotations

import fcntl
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from sqlmodel import Session, select

from tests.conftest import Database
from tests.factories import make_booking, make_client, make_ticket
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import make_sessionmaker, write_transaction
from visits.jobs import (
    JobArgs,
    SchedulerRunner,
    _opened,
    build_scheduler,
    lease_acquire,
    lease_release,
)
from visits.models import (
    Booking,
    CallTask,
    HistoryEntry,
    MessageKind,
    OutgoingMessage,
    SchedulerLease,
    Service,
    Ticket,
    TicketCounter,
)
from visits.notify.outbox import message_queue
from visits.notify.sender import STALE_CLAIM, outbox_recover_stale
from visits.notify.templates import MessageText
from visits.push import InProcessBus, push_emit
from visits.services.housekeeping import (
    bookings_close_day,
    ticket_counters_prepare,
    tickets_close_day,
)

TZ = ZoneInfo("Asia/Novosibirsk")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def test_lease_has_one_holder_until_it_expires(session: Session) -> None:
    now = utcnow()
    assert lease_acquire(session=session, holder="a", now=now)
    assert not lease_acquire(session=session, holder="b", now=now + timedelta(seconds=30))
    assert lease_acquire(session=session, holder="a", now=now + timedelta(seconds=30))  # renew
    # "a" died: its last renewal expires 45 s later, then "b" takes over.
    assert not lease_acquire(session=session, holder="b", now=now + timedelta(seconds=70))
    assert lease_acquire(session=session, holder="b", now=now + timedelta(seconds=76))
    assert session.get(SchedulerLease, "scheduler", populate_existing=True).holder == "b"  # type: ignore[union-attr]


def test_released_lease_is_free_at_once(session: Session) -> None:
    assert lease_acquire(session=session, holder="a")
    lease_release(session=session, holder="a")
    assert lease_acquire(session=session, holder="b")


class FakeScheduler:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def start(self) -> None:
        self.log.append(f"{self.name} start")

    def shutdown(self, wait: bool = True) -> None:
        self.log.append(f"{self.name} stop")


def test_second_scheduler_waits_and_takes_over(
    fresh_db: Database, office_config: OfficeConfig, calendar: WorkCalendar
) -> None:
    args = JobArgs.of(database_url=fresh_db.url, config=office_config, always_open=False)
    log: list[str] = []

    def runner(name: str) -> SchedulerRunner:
        return SchedulerRunner(
            args,
            holder=name,
            heartbeat=0.05,
            poll=0.05,
            scheduler_factory=lambda _ctx: FakeScheduler(log, name),
        )

    first, second = runner("first"), runner("second")
    threading.Thread(target=first.run, daemon=True).start()
    assert first.running.wait(10)
    threading.Thread(target=second.run, daemon=True).start()
    # The second keeps polling while the first holds the lease...
    assert not second.running.wait(0.3)
    first.stop()  # ...and runs the jobs once the first stops and releases it.
    assert first.stopped.wait(10)
    assert second.running.wait(10)
    second.stop()
    assert second.stopped.wait(10)
    assert log == ["first start", "first stop", "second start", "second stop"]


def test_one_worker_of_a_server_at_a_time_has_a_runner(
    fresh_db: Database, office_config: OfficeConfig, tmp_path: Path
) -> None:
    """The workers of `priyom serve` share a turn (a file lock): the one without it opens
    no engine and never asks for the lease; it takes the turn when the holder stops."""
    args = JobArgs.of(database_url=fresh_db.url, config=office_config, always_open=False)
    log: list[str] = []
    turn = tmp_path / "scheduler.lock"

    def runner(name: str) -> SchedulerRunner:
        return SchedulerRunner(
            args,
            holder=name,
            heartbeat=0.05,
            poll=0.05,
            scheduler_factory=lambda _ctx: FakeScheduler(log, name),
            turn_lock=turn,
        )

    first, second = runner("first"), runner("second")
    threading.Thread(target=first.run, daemon=True).start()
    assert first.running.wait(10)
    first.stop()  # the first gives up the lease as it stops, but keeps the turn...
    second_thread = threading.Thread(target=second.run, daemon=True)
    with open(turn) as held:  # ...while a third worker holds it (another open of the file)
        assert first.stopped.wait(10)
        fcntl.flock(held, fcntl.LOCK_EX)
        second_thread.start()
        # Without the turn the second never asks for the lease, which stays the first's.
        assert not second.running.wait(0.3)
        with make_sessionmaker(fresh_db.engine)() as session:
            lease = session.get(SchedulerLease, "scheduler")
            assert lease is not None and lease.holder == "first"
    assert second.running.wait(10)  # the turn came free: the second runs the jobs
    second.stop()
    assert second.stopped.wait(10)
    waiting = runner("third")  # stopped while waiting for the turn: it ends at once
    with open(turn) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        threading.Thread(target=waiting.run, daemon=True).start()
        waiting.stop()
        assert waiting.stopped.wait(10)
    assert log == ["first start", "first stop", "second start", "second stop"]


def test_real_apscheduler_has_every_job(
    office_config: OfficeConfig, calendar: WorkCalendar
) -> None:
    args = JobArgs.of(database_url="sqlite://", config=office_config, always_open=False)
    scheduler = build_scheduler(args)
    assert {job.id for job in scheduler.get_jobs()} == {
        "send_messages",
        "close_day",
        "prepare_counters",
        "print_retry",
        "expire_rating_prompts",
        "retention_purge",
    }


def test_waiting_tickets_become_no_shows_after_the_working_day(
    session: Session, calendar: WorkCalendar
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = make_booking(session, calendar, starts_at=local(16, 11, 0), now=local(16, 9, 0))
        ticket = make_ticket(session, booking, office_day=local(16, 11, 0).date())
        clock.move_to(local(16, 17, 59))
        assert tickets_close_day(session=session, calendar=calendar) == 0
        clock.move_to(local(16, 18, 0))  # Wednesday closes at 18:00
        assert tickets_close_day(session=session, calendar=calendar) == 1
        assert tickets_close_day(session=session, calendar=calendar) == 0
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "no_show"  # type: ignore[union-attr]
    assert session.get(Booking, booking.id).status == "no_show"  # type: ignore[union-attr]
    entry = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.ticket_id == ticket.id, HistoryEntry.kind == "no_show"
        )
    ).one()
    assert "рабочий день закончился" in entry.summary


def test_bookings_nobody_came_for_become_no_shows(session: Session, calendar: WorkCalendar) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = make_booking(session, calendar, starts_at=local(16, 11, 0), now=local(16, 9, 0))
        clock.move_to(local(16, 12, 0))
        assert bookings_close_day(session=session, calendar=calendar) == 0  # the day goes on
        clock.move_to(local(16, 18, 5))
        assert bookings_close_day(session=session, calendar=calendar) == 1
    session.expire_all()
    assert session.get(Booking, booking.id).status == "no_show"  # type: ignore[union-attr]


def test_next_days_ticket_counters_are_ready(session: Session, calendar: WorkCalendar) -> None:
    with time_machine.travel(local(18, 20, 0), tick=False):  # Friday evening
        day = ticket_counters_prepare(session=session, calendar=calendar)
        ticket_counters_prepare(session=session, calendar=calendar)  # twice is harmless
    assert day == local(21, 9).date()  # Monday
    counters = session.exec(select(TicketCounter).where(TicketCounter.office_day == day)).all()
    letters = set(session.exec(select(Service.letter)).all())
    assert {c.letter for c in counters} == letters
    assert {c.last_seq for c in counters} == {0}


def test_message_stuck_in_sending_fails_and_calls_instead_of_sending_twice(
    session: Session,
) -> None:
    client = make_client(session, channel="sms")
    with write_transaction(session):
        [row] = message_queue(
            session,
            client=client,
            kind=MessageKind.FINAL,
            text=MessageText(subject="Оцените визит", body="Текст"),
        )
        row.status = "sending"
        row.claimed_at = utcnow() - STALE_CLAIM - timedelta(minutes=1)
        row.claimed_by = "dead-host:1:1"
        session.add(row)
    assert outbox_recover_stale(session=session) == 1
    session.expire_all()
    stuck = session.get(OutgoingMessage, row.id)
    assert stuck is not None and stuck.status == "failed"
    [task] = session.exec(select(CallTask).where(CallTask.message_id == row.id)).all()
    assert "Оцените визит" in task.text


def test_jobs_run_the_services_from_their_plain_arguments(
    fresh_db: Database, office_config: OfficeConfig
) -> None:
    """Each job builds its session and calendar from the values APScheduler passes it."""
    args = JobArgs.of(database_url=fresh_db.url, config=office_config, always_open=False)
    with make_sessionmaker(fresh_db.engine)() as session:
        client = make_client(session, channel="email")
        with write_transaction(session):
            message_queue(
                session,
                client=client,
                kind=MessageKind.FINAL,
                text=MessageText(subject="Оцените визит", body="Текст"),
            )
        assert session.exec(select(TicketCounter)).first() is None
    for job in build_scheduler(args).get_jobs():
        assert job.kwargs == args.kwargs()
        job.func(**job.kwargs)  # log:// adapters in the demo office
    with make_sessionmaker(fresh_db.engine)() as session:
        assert set(session.exec(select(OutgoingMessage.status)).all()) == {"sent"}
        assert session.exec(select(TicketCounter)).first() is not None  # prepare_counters ran


def test_jobs_of_the_in_process_scheduler_wake_the_servers_streams(
    fresh_db: Database, office_config: OfficeConfig
) -> None:
    """`priyom serve`: a job's event (a no-show, a printer alert) wakes the server's bus."""
    bus = InProcessBus()
    args = JobArgs.of(
        database_url=fresh_db.url, config=office_config, always_open=False, push_bus=bus
    )
    assert all(job.kwargs["push_bus"] is bus for job in build_scheduler(args).get_jobs())
    with (
        _opened(fresh_db.url, args.office, False, bus) as (session, _calendar),
        write_transaction(session),
    ):
        alert = push_emit(session, "printer.alert", ["admin"], printer="kiosk-1")
    assert alert.id is not None and bus.latest == alert.id
    # The standalone `priyom scheduler` has no bus: the row is written, nobody is woken.
    quiet = InProcessBus()
    with (
        _opened(fresh_db.url, args.office, False, None) as (session, _calendar),
        write_transaction(session),
    ):
        later = push_emit(session, "printer.alert", ["admin"], printer="kiosk-1")
    assert later.id is not None and bus.latest == alert.id and quiet.latest == 0
