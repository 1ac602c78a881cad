"""Push events for live screens, and the bus that wakes their streams.

A service calls push_emit() inside its transaction: the event is a row of
PushEvent (ids only, never personal data). When the transaction commits, the
bus is told the newest id; every open stream on every server wakes, reads
the rows after its Last-Event-ID that match its topics, and sends them.
Each app owns its bus and its sessions carry it (push_session_info); there is
no bus of the process, so two apps on two databases never wake each other.

- InProcessBus: one server (the SQLite default); a threading.Condition.
- PostgresBus: several servers on one PostgreSQL; LISTEN/NOTIFY carries the
  newest id between servers, and the rows themselves stay the source of truth,
  so a missed notification only delays an event until the next wake-up.
- SqlitePollBus: several worker processes on one SQLite file; each looks for
  rows newer than the newest it knows when another worker pokes it after a
  commit, and every few milliseconds anyway (one indexed read that finds nothing
  most of the time), and wakes its streams.

On PostgreSQL two transactions may take ids 10 and 11 and commit 11 first: a
stream that read 11 would never see 10. So the event rows are written just
before commit, in one statement, under a transaction advisory lock (ids follow
commit order), and the NOTIFY is sent in the same transaction (delivered at
commit, never for a rollback).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import select as io_select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from visits.models import PushEvent

log = logging.getLogger(__name__)

_PENDING_KEY = "priyom_push_pending"
# Session.info key of the bus a session's commits wake (see push_session_info).
_BUS_KEY = "push_bus"

# Topics (who receives an event) used across the screens:
#   "staff:<staff_id>"  one staff member's panel      "admin"        administrators' day view
#   "room:<room_id>"    the room's tablet              "displays"     every hallway display
#   "operators"         phone operators (call tasks)   "unit:<name>"  a unit head (low ratings)
# Kinds: ticket.checked_in, ticket.called, ticket.recalled, ticket.moved, ticket.finished,
# ticket.returned, ticket.no_show, queue.changed, rating.prompt, rating.low, invite, printer.alert.
CHANNEL = "priyom_push"
# pg_advisory_xact_lock key held while event ids are given out (any constant of ours).
_ID_LOCK_KEY = 7_316_001

# Told of each announcement, with its topics (None: for everyone); called by the announcing
# thread, so it must return at once (the stream hub writes one byte to its wake-up socket).
Listener = Callable[[frozenset[str] | None], None]


class PushBus(Protocol):
    @property
    def latest(self) -> int: ...

    def notify(self, event_id: int, topics: Iterable[str] | None = None) -> None: ...

    def subscribe(self, listener: Listener) -> None: ...

    def wait_beyond(
        self, event_id: int, timeout: float, topics: Sequence[str] | None = None
    ) -> int: ...

    def close(self) -> None: ...


class InProcessBus:
    """Wakes waiters in this process only, and only those the event is for.

    A check-in concerns one specialist and the administrators: the hundred
    hallway displays and thirty tablets sleep through it. Waking every stream
    for every event cost each request in the process a queue of thread switches.
    """

    def __init__(self) -> None:
        self._latest = 0
        self._lock = threading.Lock()
        # The newest id announced for each topic; events announced without topics
        # (by an older server, say) concern everyone.
        self._latest_for: dict[str, int] = {}
        self._latest_for_all = 0
        self._waiters: dict[threading.Event, frozenset[str] | None] = {}
        self._listeners: tuple[Listener, ...] = ()
        self._closed = False

    @property
    def latest(self) -> int:
        """The newest event id this process has heard of."""
        return self._latest

    def subscribe(self, listener: Listener) -> None:
        """Tell `listener` of every announcement (the stream hub: one thread for many streams)."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def notify(self, event_id: int, topics: Iterable[str] | None = None) -> None:
        """Announce an event (the newest id of a commit) and whom it is for."""
        wanted = None if topics is None else frozenset(topics)
        with self._lock:
            self._latest = max(self._latest, event_id)
            if wanted is None:
                self._latest_for_all = max(self._latest_for_all, event_id)
            else:
                for topic in wanted:
                    self._latest_for[topic] = max(self._latest_for.get(topic, 0), event_id)
            for wake, interests in self._waiters.items():
                if wanted is None or interests is None or wanted & interests:
                    wake.set()
            listeners = self._listeners
        for listener in listeners:
            listener(wanted)

    def _latest_of(self, topics: frozenset[str] | None) -> int:
        if topics is None:
            return self._latest
        return max([self._latest_for_all, *(self._latest_for.get(t, 0) for t in topics)])

    def wait_beyond(
        self, event_id: int, timeout: float, topics: Sequence[str] | None = None
    ) -> int:
        """Block until an event newer than `event_id` for one of `topics` (None: any)
        is announced, or the timeout passes; return the newest such id."""
        interests = None if topics is None else frozenset(topics)
        wake = threading.Event()
        deadline = time.monotonic() + timeout
        with self._lock:
            newest = self._latest_of(interests)
            if newest > event_id:
                return newest
            self._waiters[wake] = interests
        try:
            # A wake-up that brings nothing newer (a poller announcing the id it
            # started from, say) is slept through, not returned as news.
            while wake.wait(max(0.0, deadline - time.monotonic())):
                with self._lock:
                    newest = self._latest_of(interests)
                    if newest > event_id or self._closed:
                        break
                    wake.clear()
        finally:
            with self._lock:
                self._waiters.pop(wake, None)
                newest = self._latest_of(interests)
        return newest

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for wake in self._waiters:
                wake.set()


class PostgresBus(InProcessBus):
    """InProcessBus plus LISTEN, so events committed on other servers wake streams here.

    The NOTIFY itself is sent by the committing transaction (see _write_events).
    """

    def __init__(self, conninfo: str, *, reconnect_delay: float = 1.0) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._reconnect_delay = reconnect_delay
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.reconnects = 0
        self._thread = threading.Thread(
            target=self._listen_forever, name="push-listen", daemon=True
        )
        self._thread.start()

    def _listen_forever(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                # A short connect timeout and TCP keepalives: a dead database is noticed.
                with psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Events committed while we were not listening: wake every stream
                    # that is behind the newest row, they re-read the table.
                    row = conn.execute(f"SELECT max(id) FROM {PushEvent.__tablename__}").fetchone()
                    newest = int(row[0]) if row and row[0] is not None else 0
                    log.info(
                        "push: listening on PostgreSQL channel %s (newest %s)", CHANNEL, newest
                    )
                    self.connected.set()
                    super().notify(newest)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            announced = notice_parse(note.payload)
                            if announced is not None:
                                super().notify(*announced)
            except psycopg.Error as exc:
                if self.connected.is_set():
                    self.reconnects += 1
                self.connected.clear()
                log.warning("push: listener lost the database (%s), reconnecting", exc)
                self._stop.wait(self._reconnect_delay)

    def close(self) -> None:
        self._stop.set()
        super().close()


class SqlitePollBus(InProcessBus):
    """InProcessBus plus a look at the event table, for several processes on one SQLite file.

    SQLite has no NOTIFY. Its writers take turns, so event ids follow commit order and
    "rows after the newest id I know" is exactly what other processes committed since.
    Events committed in this process wake its streams at once, as before.

    The look comes at once when another worker pokes: each bus binds a datagram socket
    (abstract, Linux) and names it by a file in `<database>-push/`, and a commit in one
    worker sends a byte to every other's after it is committed (a few microseconds
    each). Otherwise every `interval` seconds: events written by a process without a
    bus (a CLI command, the standalone scheduler) or without a socket (not Linux) wait
    that long at most.
    """

    _count = itertools.count()

    def __init__(self, path: str, *, interval: float = 0.02) -> None:
        super().__init__()
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._peers_dir = f"{path}-push"
        self._peers: list[tuple[str, str]] = []
        self._peers_read = -1.0
        self._wake, self._registration = _bind_wake_socket(self._peers_dir, next(self._count))
        self._thread = threading.Thread(target=self._poll_forever, name="push-poll", daemon=True)
        self._thread.start()

    def notify(self, event_id: int, topics: Iterable[str] | None = None) -> None:
        """Announce a commit of this process here, then poke the other workers' buses."""
        super().notify(event_id, topics)
        if self._wake is not None:
            self._poke_peers()

    def _poke_peers(self) -> None:
        assert self._wake is not None
        now = time.monotonic()
        if now - self._peers_read > PEERS_REREAD_SECONDS:
            self._peers = _peer_addresses(self._peers_dir, self._registration)
            self._peers_read = now
        for registration, address in self._peers:
            try:
                self._wake.sendto(b"!", address)
            except BlockingIOError:
                pass  # its queue is full of pokes already: it will look
            except (ConnectionRefusedError, FileNotFoundError):
                # A worker that died without closing: nobody reads there any more.
                self._peers_read = -1.0
                with contextlib.suppress(OSError):
                    os.unlink(registration)
            except OSError as exc:
                log.debug("push: cannot poke %s (%s)", registration, exc)

    def _sleep(self) -> bool:
        """Wait for a poke or the interval; True once the bus is closed."""
        if self._wake is None:
            return self._stop.wait(self._interval)
        readable, _, _ = io_select.select([self._wake], [], [], self._interval)
        if readable:
            with contextlib.suppress(OSError):
                while self._wake.recv(64):  # the pokes that came meanwhile: one look for all
                    pass
        return self._stop.is_set()

    def _poll_forever(self) -> None:
        import sqlite3

        table = PushEvent.__tablename__
        seen = 0
        while not self._stop.is_set():
            try:
                with contextlib.closing(sqlite3.connect(self._path, timeout=5)) as conn:
                    row = conn.execute(f"SELECT max(id) FROM {table}").fetchone()
                    seen = max(seen, int(row[0] or 0))
                    super().notify(seen)
                    while not self._sleep():
                        rows = conn.execute(
                            f"SELECT id, topics FROM {table} WHERE id > ? ORDER BY id LIMIT 500",
                            (seen,),
                        ).fetchall()
                        if rows:
                            seen = int(rows[-1][0])
                            topics = sorted({t for _id, raw in rows for t in json.loads(raw)})
                            super().notify(seen, topics)
            except (sqlite3.Error, ValueError) as exc:
                log.warning("push: cannot read the event table (%s), trying again", exc)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        super().close()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake.sendto(b"!", self._wake.getsockname())  # the poll thread ends now
            self._thread.join(1.0)
            self._wake.close()
            with contextlib.suppress(OSError):
                os.unlink(self._registration)


# A bus reads the list of other workers' sockets this often (new workers, restarts).
PEERS_REREAD_SECONDS = 1.0
_WAKE_SUFFIX = ".wake"


def _wake_address(directory: str, name: str) -> str:
    """The abstract socket address (Linux) of a registration file's bus.

    Abstract: no path-length limit (a socket file's path must fit in 107 bytes) and
    gone with its process; the file in `directory` only tells the others its name.
    """
    digest = hashlib.sha256(os.path.abspath(directory).encode()).hexdigest()[:16]
    return f"\0priyom-push-{digest}-{name.removesuffix(_WAKE_SUFFIX)}"


def _bind_wake_socket(directory: str, serial: int) -> tuple[socket.socket | None, str]:
    """This bus's datagram socket and its registration file in `directory`.

    None where it cannot be (not Linux, a read-only directory): then it only polls.
    """
    registration = os.path.join(directory, f"{os.getpid()}-{serial}{_WAKE_SUFFIX}")
    try:
        os.makedirs(directory, exist_ok=True)
        wake = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError as exc:
        log.warning("push: no wake-up socket in %s (%s): workers poll only", directory, exc)
        return None, registration
    try:
        wake.bind(_wake_address(directory, os.path.basename(registration)))
        with open(registration, "w"):
            pass
    except OSError as exc:
        wake.close()
        log.warning("push: no wake-up socket for %s (%s): workers poll only", registration, exc)
        return None, registration
    wake.setblocking(False)
    return wake, registration


def _peer_addresses(directory: str, mine: str) -> list[tuple[str, str]]:
    """The other buses' (registration file, socket address)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [
        (path, _wake_address(directory, name))
        for name in names
        if name.endswith(_WAKE_SUFFIX) and (path := os.path.join(directory, name)) != mine
    ]


def push_session_info(bus: PushBus) -> dict[str, Any]:
    """The `info` of a sessionmaker whose commits wake `bus` (its app's or worker's).

    Each app owns its bus and gives it to the sessions it makes; a session without
    one (a CLI command, the standalone scheduler, a test's own session) still writes
    its events to the table, and the streams read them on their next wake-up.
    """
    return {_BUS_KEY: bus}


def push_emit(session: Session, kind: str, topics: Sequence[str], **payload: Any) -> PushEvent:
    """Add a push event to the current transaction: written at commit, then the bus is told.

    Events are held until commit and written together (see _write_events); the
    row's id is set then. A rolled-back transaction drops them; savepoints are
    not used by the services, so an event belongs to its whole transaction.
    """
    row = PushEvent(kind=kind, topics=list(topics), payload=payload)
    session.info.setdefault(_PENDING_KEY, []).append(row)
    return row


# The event table's statements, built once: a call or a check-in runs them on every commit.
_EVENT_TABLE = PushEvent.__table__  # type: ignore[attr-defined]
_INSERT_ONE = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id)
_INSERT_MANY = insert(_EVENT_TABLE).returning(_EVENT_TABLE.c.id, sort_by_parameter_order=True)
# PostgreSQL: the advisory lock, the rows and the NOTIFY in one statement, so the lock is
# held for that one round trip and the commit (four round trips before, each a wait for the
# interpreter lock in a busy worker: calls queued on it). The lock's CTE has a volatile
# function, so it is materialized, and every inserted row is built from a row of it: the
# ids are drawn after the lock is held. Rows are inserted in their order (ORDER BY n; the
# sequence's nextval() is evaluated after the sort), so ids follow push_emit()'s order.
# The NOTIFY's CTE reads the inserted ids, so it runs after them, once.
_WRITE_EVENTS_POSTGRES = text(
    f"""
WITH held AS MATERIALIZED (SELECT pg_advisory_xact_lock(:key) AS locked),
written AS (
    INSERT INTO {_EVENT_TABLE.name} (at, kind, topics, payload)
    SELECT e.at, e.kind, e.topics, e.payload
    FROM held CROSS JOIN ROWS FROM (
        json_to_recordset(CAST(:events AS json))
            AS (at timestamptz, kind varchar, topics json, payload json)
    ) WITH ORDINALITY AS e(at, kind, topics, payload, n)
    ORDER BY e.n
    RETURNING id
),
notified AS MATERIALIZED (
    SELECT pg_notify(
        :channel,
        json_build_object('id', (SELECT max(id) FROM written), 'topics', CAST(:topics AS json))
            ::text
    ) AS sent
)
SELECT written.id FROM written CROSS JOIN notified ORDER BY written.id
"""
)


@sa_event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    """Write the transaction's events in one statement; on PostgreSQL in commit order, with NOTIFY."""
    pending: list[PushEvent] = session.info.get(_PENDING_KEY, [])
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        _write_events_postgres(session, pending)
        return
    # Core statements on the session's connection: the ORM's bulk path cost a call or a
    # check-in 2 ms of Python for one or two rows, Session.execute another 0.1 ms each.
    # (SQLite: one writer at a time, so ids follow commit order.)
    connection = session.connection()
    rows = [{"at": r.at, "kind": r.kind, "topics": r.topics, "payload": r.payload} for r in pending]
    if len(rows) == 1:
        written = [connection.execute(_INSERT_ONE, rows[0]).scalar_one()]
    else:
        written = list(connection.execute(_INSERT_MANY, rows).scalars())
    for row, event_id in zip(pending, written, strict=True):
        row.id = event_id


def _write_events_postgres(session: Session, pending: list[PushEvent]) -> None:
    """The events, their ids in commit order and the NOTIFY, in one statement.

    Every other lock this transaction needs is taken by this flush, before the
    advisory lock: the advisory lock is always the last one, so it cannot deadlock.
    """
    session.flush()
    events = json.dumps(
        [
            {"at": r.at.isoformat(), "kind": r.kind, "topics": r.topics, "payload": r.payload}
            for r in pending
        ]
    )
    written = session.connection().execute(
        _WRITE_EVENTS_POSTGRES,
        {
            "key": _ID_LOCK_KEY,
            "events": events,
            "channel": CHANNEL,
            "topics": json.dumps(_topics_of(pending), ensure_ascii=False),
        },
    )
    for row, event_id in zip(pending, written.scalars(), strict=True):
        row.id = event_id


def _topics_of(events: Sequence[PushEvent]) -> list[str]:
    return sorted({topic for row in events for topic in row.topics})


def notice_text(newest: int, events: Sequence[PushEvent]) -> str:
    """The NOTIFY payload: the newest id and the topics of the commit's events."""
    return json.dumps({"id": newest, "topics": _topics_of(events)}, ensure_ascii=False)


def notice_parse(payload: str) -> tuple[int, list[str] | None] | None:
    """Read a NOTIFY payload; a bare id (older servers) concerns every topic."""
    if payload.isdigit():
        return int(payload), None
    try:
        notice = json.loads(payload)
        return int(notice["id"]), [str(topic) for topic in notice["topics"]]
    except (ValueError, KeyError, TypeError):
        log.warning("push: unreadable notification %r", payload[:100])
        return None


@sa_event.listens_for(Session, "after_commit")
def _notify_after_commit(session: Session) -> None:
    pending: list[PushEvent] = session.info.pop(_PENDING_KEY, [])
    ids = [row.id for row in pending if row.id is not None]
    bus: PushBus | None = session.info.get(_BUS_KEY)
    if ids and bus is not None:
        bus.notify(max(ids), _topics_of(pending))


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def push_latest_id(session: Session) -> int:
    """Return the newest event id (where a fresh stream starts)."""
    return session.exec(select(func.max(PushEvent.id))).one() or 0


def push_events_after(
    session: Session,
    after_id: int,
    topics: Sequence[str],
    limit: int = 200,
    *,
    all_topics: bool = False,
) -> tuple[list[PushEvent], int]:
    """Return events newer than `after_id` addressed to any of `topics`, and the last id read."""
    rows = session.exec(
        select(PushEvent)
        .where(col(PushEvent.id) > after_id)
        .order_by(col(PushEvent.id))
        .limit(limit)
    ).all()
    wanted = set(topics)
    last = rows[-1].id if rows else after_id
    if all_topics:
        return list(rows), last or after_id
    return [row for row in rows if wanted.intersection(row.topics)], last or after_id
