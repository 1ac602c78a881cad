"""SQLite: the threads of a process take turns at writing on a lock of ours, not in SQLite's busy sleeps."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Database
from visits import db as db_module
from visits.db import (
    SqliteWriteLock,
    _sqlite_writers,
    make_engine,
    make_sessionmaker,
    write_transaction,
)


def test_a_second_writer_waits_on_the_process_lock_not_in_sqlite(fresh_db: Database) -> None:
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows, not the database")
    factory = make_sessionmaker(fresh_db.engine)
    writer = _sqlite_writers[fresh_db.engine]
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with factory() as session, write_transaction(session):
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    def second() -> None:
        with factory() as session, write_transaction(session):
            order.append("second in")

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    assert writer.locked()
    two = threading.Thread(target=second)
    two.start()
    release.set()
    one.join(10)
    two.join(10)
    assert order == ["first in", "first out", "second in"]
    assert not writer.locked()


def test_the_lock_is_given_back_when_the_transaction_fails(fresh_db: Database) -> None:
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows, not the database")
    factory = make_sessionmaker(fresh_db.engine)
    with pytest.raises(RuntimeError), factory() as session, write_transaction(session):
        assert _sqlite_writers[fresh_db.engine].locked()
        raise RuntimeError("refused")
    assert not _sqlite_writers[fresh_db.engine].locked()


def test_other_processes_queue_on_the_lock_file_beside_the_database(fresh_db: Database) -> None:
    """A writer holds an exclusive flock() of `<database>-writer.lock` until it commits:
    another process (here: another open of the file, as flock() sees a process) waits."""
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows, not the database")
    path = _sqlite_writers[fresh_db.engine].path
    assert path is not None and path.endswith("-writer.lock")
    factory = make_sessionmaker(fresh_db.engine)
    other = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        with factory() as session, write_transaction(session), pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again after the commit
        fcntl.flock(other, fcntl.LOCK_UN)
        with pytest.raises(RuntimeError), factory() as session, write_transaction(session):
            raise RuntimeError("refused")
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # and after a rollback
    finally:
        os.close(other)


def test_a_forked_process_takes_the_file_lock_through_a_file_of_its_own(
    fresh_db: Database,
) -> None:
    """A worker forked from a master that had written must not share the master's lock."""
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows, not the database")
    factory = make_sessionmaker(fresh_db.engine)
    with factory() as session, write_transaction(session):
        pass  # the lock file is open in this process now
    read_end, write_end = os.pipe()
    with factory() as session, write_transaction(session):
        pid = os.fork()
        if pid == 0:  # the child: try the lock without waiting, tell the parent, leave
            code = 1
            try:
                try:
                    fcntl.flock(
                        _sqlite_writers[fresh_db.engine]._descriptor(),  # noqa: SLF001
                        fcntl.LOCK_EX | fcntl.LOCK_NB,
                    )
                    os.write(write_end, b"taken")
                except BlockingIOError:
                    os.write(write_end, b"waits")
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        answer = os.read(read_end, 16)
        os.waitpid(pid, 0)
    os.close(read_end)
    assert answer == b"waits"


def test_a_lock_file_that_cannot_be_opened_leaves_the_thread_lock(tmp_path: Path) -> None:
    """A lock file another user made (or a directory gone): writers of this process still
    take turns, and SQLite's own lock keeps processes apart as before."""
    lock = SqliteWriteLock(str(tmp_path / "missing" / "priyom.sqlite3-writer.lock"))
    lock.acquire()
    assert lock.locked() and lock.path is None
    lock.release()
    assert not lock.locked()
    lock.acquire()  # and again, without the file
    lock.release()


def test_a_pooled_connection_is_tested_only_after_sitting_idle(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a connection that just came back is handed out as it is (no "SELECT 1"
    round trip per request); one idle long enough is tested, and a dead one replaced."""
    if fresh_db.backend != "postgres":
        pytest.skip("SQLite has no server to restart")
    engine = make_engine(fresh_db.url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Killed behind the pool's back, just returned: handed out untested, it fails...
        with fresh_db.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            admin.commit()
        monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 3600.0)
        with pytest.raises(DBAPIError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # ...while one idle past the threshold is tested on checkout and replaced.
        with engine.connect() as conn:
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with fresh_db.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": second})
            admin.commit()
        monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
        with engine.connect() as conn:
            third = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert third not in (first, second)
    finally:
        engine.dispose()
