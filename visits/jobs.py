"""Scheduler jobs (thin calls into services) and the one scheduler per deployment.

The durable queue is the outbox table, not APScheduler's job store: a
reminder is an OutgoingMessage row with a due time, written in the booking's
transaction. APScheduler 3 runs with its in-memory store and only ticks: every
30 s the send job reads the rows that are due and sends them. So a restart
loses nothing, and a row that fell due during downtime is judged when the
server is back (sent late while still useful, else skipped with the reason,
visits.notify.sender).

One scheduler per deployment: whoever holds the SchedulerLease row runs the
jobs, renewing it every 15 s; a second `priyom scheduler` (or another server)
waits and takes over within a minute after the holder dies. Even if two ran at
once, each message is claimed atomically and goes once. Within one server, one
worker at a time has a runner at all: the one holding the server's turn (a file
lock, see SchedulerRunner); the others wait for the turn, not the lease.

Each job is a plain function of plain keyword arguments (JobArgs: the database
URL, the office config as data, the always-open switch) and builds its session
and calendar from them, so nothing is reached through module state. The one
argument that is not plain data is the push bus of the server the scheduler runs
in (`priyom serve`): the jobs' events wake that server's streams at once. The
standalone `priyom scheduler` has none; its events are read from the table.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_

from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import is_sqlite, make_engine, make_sessionmaker, write_transaction
from visits.models import SchedulerLease
from visits.notify.sender import holder_name, outbox_recover_stale, outbox_send_due
from visits.push import PushBus, push_session_info
from visits.services.housekeeping import (
    bookings_close_day,
    ticket_counters_prepare,
    tickets_close_day,
)
from visits.services.printing import print_jobs_retry
from visits.services.ratelimit import limits_purge
from visits.services.rating import rating_prompts_expire
from visits.services.retention import history_purge
from visits.settings import Settings

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(seconds=45)
HEARTBEAT_SECONDS = 15.0
WAIT_POLL_SECONDS = 10.0
SEND_EVERY_SECONDS = 30
# How often a server's worker without the scheduler's turn looks whether it is free.
TURN_POLL_SECONDS = 1.0


def lease_timing(seconds: float = LEASE_TTL.total_seconds()) -> tuple[timedelta, float, float]:
    """Lease length, renewal and waiting poll (PRIYOM_SCHEDULER_LEASE_SECONDS gives `seconds`).

    The holder renews every third of the lease and a waiting process looks every
    quarter of it, so a dead holder is replaced within about 1.25 leases.
    """
    if seconds == LEASE_TTL.total_seconds():
        return LEASE_TTL, HEARTBEAT_SECONDS, WAIT_POLL_SECONDS
    return timedelta(seconds=seconds), seconds / 3, seconds / 4


@dataclass(frozen=True)
class JobArgs:
    """What every job is given: plain values, as APScheduler 3 wants a job's arguments."""

    database_url: str
    office: dict[str, Any]  # OfficeConfig.model_dump(): builtins, validated again in the job
    always_open: bool = False
    # The in-process server's bus (`priyom serve`); the in-memory job store keeps it as is.
    push_bus: PushBus | None = None

    @classmethod
    def of(
        cls,
        *,
        database_url: str,
        config: OfficeConfig,
        always_open: bool,
        push_bus: PushBus | None = None,
    ) -> JobArgs:
        return cls(
            database_url=database_url,
            office=config.model_dump(),
            always_open=always_open,
            push_bus=push_bus,
        )

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of every job function."""
        return {
            "database_url": self.database_url,
            "office": self.office,
            "always_open": self.always_open,
            "push_bus": self.push_bus,
        }


@functools.lru_cache(maxsize=4)
def _job_engine(database_url: str) -> Engine:
    """One small engine per database for this process's job runs and its lease.

    A new engine each run compiled its statements anew and left the garbage of the
    last: a server's workers, idle but for their jobs, grew by megabytes each. One
    connection is kept; a second opens only while a job and the lease's renewal
    both need one (it must not wait behind a long job and let the lease expire).
    """
    return make_engine(database_url, pool_size=1, max_overflow=1)


# The office's calendar by its settings: built once, not at every job run.
_job_calendars: dict[tuple[str, bool], WorkCalendar] = {}


def _job_calendar(office: dict[str, Any], always_open: bool) -> WorkCalendar:
    key = (json.dumps(office, sort_keys=True, default=str), always_open)
    calendar = _job_calendars.get(key)
    if calendar is None:
        calendar = WorkCalendar(OfficeConfig.model_validate(office), always_open=always_open)
        _job_calendars[key] = calendar
    return calendar


@contextmanager
def _opened(
    database_url: str, office: dict[str, Any], always_open: bool, push_bus: PushBus | None
) -> Iterator[tuple[Session, WorkCalendar]]:
    """A session (waking `push_bus`, if any) and the office calendar from a job's arguments."""
    calendar = _job_calendar(office, always_open)
    info = push_session_info(push_bus) if push_bus is not None else {}
    with make_sessionmaker(_job_engine(database_url), info=info)() as session:
        yield session, calendar


# --- Jobs: each opens its own session from its arguments and calls services -------------


def job_send_messages(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """Send what is due in the outbox; fail rows stuck mid-send."""
    with _opened(database_url, office, always_open, push_bus) as (session, calendar):
        outbox_recover_stale(session=session)
        outbox_send_due(session=session, config=calendar.config)


def job_close_day(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """No-show for tickets and bookings whose working day has ended; stale limit counters go."""
    with _opened(database_url, office, always_open, push_bus) as (session, calendar):
        tickets_close_day(session=session, calendar=calendar)
        bookings_close_day(session=session, calendar=calendar)
        limits_purge(session=session)


def job_prepare_counters(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """Ticket counters for the next working day."""
    with _opened(database_url, office, always_open, push_bus) as (session, calendar):
        ticket_counters_prepare(session=session, calendar=calendar)


def job_expire_rating_prompts(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """Close rating prompts nobody answered (§36), so tablets do not keep stale questions."""
    with _opened(database_url, office, always_open, push_bus) as (session, _calendar):
        rating_prompts_expire(session=session)


def job_print_retry(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """Reprint tickets whose printer answers again (the kiosk's printing service)."""
    with _opened(database_url, office, always_open, push_bus) as (session, calendar):
        print_jobs_retry(session=session, calendar=calendar)


def job_retention_purge(
    *,
    database_url: str,
    office: dict[str, Any],
    always_open: bool,
    push_bus: PushBus | None = None,
) -> None:
    """Remove history older than five years (§4, the retention service)."""
    with _opened(database_url, office, always_open, push_bus) as (session, _calendar):
        history_purge(session=session, now=utcnow())


# --- The lease: one scheduler per deployment ---------------------------------------------


def _lease_clock(session: Session) -> datetime:
    """The database's clock on PostgreSQL: servers on several hosts agree on one time."""
    if is_sqlite(session):
        return utcnow()
    moment: datetime = session.execute(select(func.now())).scalar_one()
    return moment.astimezone(UTC)


def lease_acquire(
    *, session: Session, holder: str, now: datetime | None = None, ttl: timedelta = LEASE_TTL
) -> bool:
    """Take or renew the scheduler lease; True if `holder` holds it now."""
    now = now or _lease_clock(session)
    try:
        with write_transaction(session):
            taken = session.exec(
                update(SchedulerLease)
                .where(
                    col(SchedulerLease.name) == LEASE_NAME,
                    or_(
                        col(SchedulerLease.holder) == holder,
                        col(SchedulerLease.expires_at) < now,
                    ),
                )
                .values(holder=holder, expires_at=now + ttl, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                return True
            if session.get(SchedulerLease, LEASE_NAME) is not None:
                return False
            session.add(
                SchedulerLease(
                    name=LEASE_NAME, holder=holder, expires_at=now + ttl, heartbeat_at=now
                )
            )
    except IntegrityError:
        # Another process inserted the first lease row at the same moment.
        session.rollback()
        return False
    return True


def lease_release(*, session: Session, holder: str) -> None:
    """Give the lease up at once (a clean stop), so a waiting process need not wait."""
    now = _lease_clock(session)
    with write_transaction(session):
        session.exec(
            update(SchedulerLease)
            .where(col(SchedulerLease.name) == LEASE_NAME, col(SchedulerLease.holder) == holder)
            .values(expires_at=now - timedelta(seconds=1))
            .execution_options(synchronize_session=False)
        )


# --- The runner ------------------------------------------------------------------------


def build_scheduler(args: JobArgs) -> Any:
    """An APScheduler 3 BackgroundScheduler with every job, not started."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    tz = WorkCalendar(OfficeConfig.model_validate(args.office)).tz
    scheduler = BackgroundScheduler(timezone=tz)
    defaults: dict[str, Any] = {
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": 300,
        "kwargs": args.kwargs(),
    }
    now = datetime.now(tz)
    scheduler.add_job(
        job_send_messages,
        "interval",
        seconds=SEND_EVERY_SECONDS,
        id="send_messages",
        next_run_time=now,
        **defaults,
    )
    scheduler.add_job(job_close_day, "interval", minutes=15, id="close_day", **defaults)
    scheduler.add_job(
        job_prepare_counters,
        CronTrigger(hour=0, minute=5, timezone=tz),
        id="prepare_counters",
        next_run_time=now,
        **defaults,
    )
    scheduler.add_job(job_print_retry, "interval", minutes=1, id="print_retry", **defaults)
    scheduler.add_job(
        job_expire_rating_prompts, "interval", minutes=1, id="expire_rating_prompts", **defaults
    )
    scheduler.add_job(
        job_retention_purge,
        CronTrigger(hour=3, minute=30, timezone=tz),
        id="retention_purge",
        **defaults,
    )
    return scheduler


class SchedulerRunner:
    """Waits for the lease, runs the jobs while holding it, stops when asked.

    With `turn_lock` (a server's workers, `priyom serve`), it first waits for the
    server's turn: an exclusive flock() of that file, which one worker holds at a
    time. Only that worker opens an engine and competes for the lease; the others
    keep a thread that looks once a second, nothing else. When the holder exits
    (a restart, a crash: the kernel drops its lock), another worker takes the
    turn, then the lease (at once if it was released, else when it expires).
    """

    def __init__(
        self,
        args: JobArgs,
        *,
        holder: str | None = None,
        heartbeat: float | None = None,
        poll: float | None = None,
        ttl: timedelta | None = None,
        lease_seconds: float = LEASE_TTL.total_seconds(),
        scheduler_factory: Callable[[JobArgs], Any] = build_scheduler,
        turn_lock: Path | None = None,
    ) -> None:
        self.args = args
        self.turn_lock = turn_lock
        self.holder = holder or holder_name()
        lease_ttl, lease_heartbeat, lease_poll = lease_timing(lease_seconds)
        self.ttl = ttl or lease_ttl
        self.heartbeat = heartbeat or lease_heartbeat
        self.poll = poll or lease_poll
        self.scheduler_factory = scheduler_factory
        self.stop_event = threading.Event()
        self.running = threading.Event()
        self.stopped = threading.Event()

    def _lease(self, sessions: Callable[[], Session]) -> bool:
        try:
            with sessions() as session:
                return lease_acquire(session=session, holder=self.holder, ttl=self.ttl)
        except Exception:
            log.exception("scheduler: cannot reach the database for the lease")
            return False

    def run(self) -> None:
        """Block until stop(): wait for the turn and the lease, run the jobs while held."""
        turn = self._wait_turn()
        try:
            if turn is not None:
                # The jobs' engine (a second engine of its own cost 1-2 MiB).
                engine = _job_engine(self.args.database_url)
                try:
                    self._run(make_sessionmaker(engine))
                finally:
                    engine.dispose()
                log.info("scheduler: %s stopped", self.holder)
        finally:
            if turn is not None and turn >= 0:
                os.close(turn)  # gives the turn to another worker
            self.stopped.set()

    def _wait_turn(self) -> int | None:
        """Hold the server's turn (its open lock file; -1 without `turn_lock`); None if
        stopped while waiting."""
        if self.turn_lock is None:
            return -1
        self.turn_lock.parent.mkdir(parents=True, exist_ok=True)
        turn = os.open(self.turn_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        while True:
            try:
                fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return turn
            except BlockingIOError:
                if self.stop_event.wait(TURN_POLL_SECONDS):
                    os.close(turn)
                    return None

    def _run(self, sessions: Callable[[], Session]) -> None:
        waiting_logged = False
        while not self.stop_event.is_set():
            if not self._lease(sessions):
                if not waiting_logged:
                    log.info("scheduler: another process runs the jobs; %s waits", self.holder)
                    waiting_logged = True
                self.stop_event.wait(self.poll)
                continue
            waiting_logged = False
            log.info("scheduler: %s runs the jobs", self.holder)
            scheduler = self.scheduler_factory(self.args)
            scheduler.start()
            self.running.set()
            try:
                while not self.stop_event.wait(self.heartbeat):
                    if not self._lease(sessions):
                        log.warning("scheduler: lease lost; %s stops its jobs", self.holder)
                        break
            finally:
                self.running.clear()
                scheduler.shutdown(wait=True)
            if self.stop_event.is_set():
                try:
                    with sessions() as session:
                        lease_release(session=session, holder=self.holder)
                except Exception:
                    log.exception("scheduler: could not release the lease")

    def stop(self) -> None:
        self.stop_event.set()


def run_scheduler_forever(*, config: OfficeConfig, settings: Settings) -> None:
    """`priyom scheduler`: run the jobs in this process until SIGTERM/SIGINT."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    runner = SchedulerRunner(
        JobArgs.of(
            database_url=settings.database_url,
            config=config,
            always_open=settings.open_around_the_clock,
        ),
        lease_seconds=settings.scheduler_lease_seconds,
    )

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: signal %s, stopping", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.run()


def start_background_scheduler(
    *,
    database_url: str,
    config: OfficeConfig,
    always_open: bool,
    lease_seconds: float = LEASE_TTL.total_seconds(),
    push_bus: PushBus | None = None,
    turn_lock: Path | None = None,
) -> SchedulerRunner:
    """`priyom serve`: run the scheduler in a daemon thread of this process; stop() ends it.

    `push_bus` is the server's: the jobs' events wake its streams as its own commits do.
    `turn_lock`: the server's file that lets one of its workers at a time run a scheduler.
    """
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    runner = SchedulerRunner(
        JobArgs.of(
            database_url=database_url,
            config=config,
            always_open=always_open,
            push_bus=push_bus,
        ),
        lease_seconds=lease_seconds,
        turn_lock=turn_lock,
    )
    threading.Thread(target=runner.run, name="priyom-scheduler", daemon=True).start()
    return runner
