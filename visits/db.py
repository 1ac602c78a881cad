"""Engines, sessions and write transactions for SQLite and PostgreSQL.

SQLite (the single-server default) runs in WAL mode. A write transaction
on SQLite starts with BEGIN IMMEDIATE, so two writers queue on the
database lock instead of failing half-way when a read upgrades to a write;
before it, writers queue on a lock of ours (SqliteWriteLock: a thread lock and
a file lock beside the database), so the next starts the moment the last commits.
On PostgreSQL the services take row locks (FOR UPDATE / SKIP LOCKED).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Engine, Integer, String, Text, cast, event, func, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, create_engine

from visits.settings import Settings

log = logging.getLogger(__name__)

# PostgreSQL connections per worker process (PRIYOM_DB_POOL_SIZE, PRIYOM_DB_MAX_OVERFLOW).
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 20

_immediate: ContextVar[bool] = ContextVar("priyom_sqlite_immediate", default=False)
_in_write: ContextVar[bool] = ContextVar("priyom_in_write", default=False)


class SqliteWriteLock:
    """One write transaction at a time on a SQLite file, across threads and processes.

    SQLite lets one writer in; the others sleep in its busy handler (1, 2, 5, 10 ...
    100 ms between tries) while the database may sit free (py-spy: 45% of a check-in's
    wall time under load). Here the threads of a process queue on a thread lock, and
    the processes on one file (the server's workers, the scheduler, a CLI command) on
    an exclusive flock() of `<database>-writer.lock`: the kernel wakes the next writer
    the moment the last one releases, just after its commit. Like SQLite's own lock,
    the kernel drops the file lock when its process dies.

    The file is opened once per process (a forked worker opens its own: a descriptor
    inherited from the master would share the master's lock).
    """

    def __init__(self, lock_path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = lock_path
        self._fd = -1
        self._pid = 0

    @property
    def path(self) -> str | None:
        return self._path

    def locked(self) -> bool:
        return self._threads.locked()

    def acquire(self) -> None:
        # The thread lock first: flock() is held by an open file, not a thread, so two
        # threads of one process would both "hold" it.
        self._threads.acquire()
        if self._path is None:
            return
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except OSError as exc:
            # A lock file this process may not open (created by another user, say):
            # SQLite's own lock still keeps writers apart, in its busy handler.
            log.warning(
                "SQLite write lock %s unusable (%s): processes wait in SQLite", self._path, exc
            )
            self._path = None
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._path is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        pid = os.getpid()
        if self._pid != pid:
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
            self._pid = pid
        return self._fd


def sqlite_write_lock_path(database: str | None) -> str | None:
    """The lock file beside a SQLite database file (None: in memory, one process)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writer.lock"


# SQLite: the write lock of each engine (see write_transaction).
_sqlite_writers: weakref.WeakKeyDictionary[Engine, SqliteWriteLock] = weakref.WeakKeyDictionary()


def is_sqlite(engine_or_session: Engine | Session | Connection) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings Priyom relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _setup_sqlite(engine)
        _sqlite_writers[engine] = SqliteWriteLock(sqlite_write_lock_path(parsed.database))
        return engine
    # Per worker process; PostgreSQL's max_connections must cover every worker of every
    # server (pool_size + max_overflow + 1 listener each) plus the scheduler.
    kwargs.setdefault("pool_size", DEFAULT_POOL_SIZE)
    kwargs.setdefault("max_overflow", DEFAULT_MAX_OVERFLOW)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection unused this long is tested before it is handed out (see _ping_when_idle).
PING_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection on checkout only if it sat unused for a while.

    After a PostgreSQL restart a pooled connection is dead: tested and replaced on
    checkout, the servers carry on without a restart of their own. SQLAlchemy's
    pool_pre_ping tests every checkout, a "SELECT 1" round trip at the start of every
    request (8.5% of a check-in's samples on PostgreSQL). A connection back in the pool
    less than PING_IDLE_SECONDS ago was working then; a restart takes longer than that,
    and a connection that still meets a dead server is invalidated with its whole pool
    by SQLAlchemy's disconnect handling.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["priyom_returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("priyom_returned_at")
        if returned is None or time.monotonic() - returned < PING_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # handed out outside a transaction, as it came back
        except Exception as exc:
            # The pool drops this connection and checks out another (a fresh one).
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def settings_engine(settings: Settings) -> Engine:
    """The engine of DATABASE_URL, with the pool the environment asks for (PostgreSQL)."""
    if settings.is_sqlite:
        return make_engine(settings.database_url)
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def make_sessionmaker(bind: Engine | Connection, **kwargs: Any) -> sessionmaker[Session]:
    kwargs.setdefault("expire_on_commit", False)
    return sessionmaker(bind=bind, class_=Session, **kwargs)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one write transaction; commit on success, roll back on error.

    Nested calls join the outer transaction, so a service may call another.
    """
    if _in_write.get():
        yield session
        return
    bind = session.get_bind()
    if session.in_transaction():
        if bind.dialect.name != "sqlite":
            # PostgreSQL writes on in the transaction its reads began (row locks keep
            # writers apart): one commit where there were two, and two round trips fewer.
            yield from _write_continued(session)
            return
        # End a read transaction first: SQLite cannot upgrade it safely.
        session.commit()
    # SQLite has one writer at a time: writers of every thread and process queue on
    # SqliteWriteLock and the next one starts the moment the last commits.
    writer = _sqlite_writers.get(bind.engine) if isinstance(bind, Engine | Connection) else None
    if writer is not None:
        writer.acquire()
    immediate_token = _immediate.set(True)
    write_token = _in_write.set(True)
    try:
        with session.begin():
            yield session
    finally:
        _in_write.reset(write_token)
        _immediate.reset(immediate_token)
        if writer is not None:
            writer.release()


def _write_continued(session: Session) -> Iterator[Session]:
    """The rest of write_transaction in a transaction already open: commit or roll it back."""
    write_token = _in_write.set(True)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
    finally:
        _in_write.reset(write_token)


def orm_synced(session: Session, model: type[Any], ident: int, **values: Any) -> None:
    """After a Core write: give an object this session already holds the values written.

    The hot paths write with Core statements, which leave the session's objects as they
    were; the caller's copy (a test's, a service's that loaded it earlier) must not go stale.
    """
    loaded = session.identity_map.get(inspect(model).identity_key_from_primary_key((ident,)))
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)


def for_update(session: Session) -> bool:
    """True where SELECT ... FOR UPDATE means something (PostgreSQL)."""
    return not is_sqlite(session)


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """Whole seconds since 1970 of a UTC time column, computed by the database.

    For queries that read thousands of times only to compare them: an integer
    per row instead of an aware datetime parsed in Python for each one.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_seconds_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(cast(func.extract("epoch", *element.clauses), BigInteger), **kw)


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC times as text and reads them as UTC; unixepoch() (3.38+) is
    # twice as fast as strftime('%s').
    if sqlite3.sqlite_version_info >= (3, 38):
        return compiler.process(func.unixepoch(*element.clauses), **kw)
    return compiler.process(cast(func.strftime("%s", *element.clauses), Integer), **kw)


class epoch_seconds_list(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """An aggregate: the group's times as comma-separated epoch seconds ("1795918500,...").

    One string per group instead of a row per time: the database does the
    per-row work in C and Python splits one string.
    """

    type = Text()
    inherit_cache = True


@compiles(epoch_seconds_list)
def _epoch_seconds_list_default(
    element: epoch_seconds_list, compiler: SQLCompiler, **kw: Any
) -> str:
    seconds = cast(epoch_seconds(*element.clauses), String)
    return compiler.process(func.string_agg(seconds, ","), **kw)


@compiles(epoch_seconds_list, "sqlite")
def _epoch_seconds_list_sqlite(
    element: epoch_seconds_list, compiler: SQLCompiler, **kw: Any
) -> str:
    return compiler.process(func.group_concat(epoch_seconds(*element.clauses)), **kw)
