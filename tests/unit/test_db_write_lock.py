"""SQLite: the threads of a process take turns at writing on a lock of ours, not in SQLite's busy sleeps."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import Database
from visits.db import _sqlite_writers, make_sessionmaker, write_transaction


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
