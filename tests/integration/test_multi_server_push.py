"""Push event ids on PostgreSQL follow commit order, and the NOTIFY goes with the commit.

Two servers commit events concurrently. If ids were given out at insert time,
a transaction that took id 10 but committed after id 11 would be skipped by
every stream that had already read 11. PostgreSQL only (`--db=postgres`).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tests.conftest import Database
from visits.db import make_sessionmaker
from visits.push import CHANNEL, notice_parse, push_emit, push_events_after

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(backend: str, fresh_db: Database) -> Iterator[Database]:
    if backend != "postgres":
        pytest.skip("event ids and NOTIFY across servers are PostgreSQL's: run with --db=postgres")
    yield fresh_db


def _conninfo(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_event_committed_later_gets_the_later_id(pg: Database) -> None:
    factory = make_sessionmaker(pg.engine)
    with factory() as slow, factory() as fast, factory() as reader:
        early = push_emit(slow, "ticket.called", ["displays"], ticket_id=1)
        slow.flush()  # the event is made first...
        late = push_emit(fast, "ticket.called", ["displays"], ticket_id=2)
        fast.flush()
        fast.commit()  # ...but the other transaction commits first
        assert late.id is not None
        # A stream reads now and moves past the committed event.
        seen, last = push_events_after(reader, 0, ["displays"])
        reader.rollback()
        assert [e.payload["ticket_id"] for e in seen] == [2]
        slow.commit()
        assert early.id is not None and early.id > last
        # The stream's next read, after `last`, still finds the slow transaction's event.
        missed, _ = push_events_after(reader, last, ["displays"])
        assert [e.payload["ticket_id"] for e in missed] == [1]


def test_notify_is_sent_by_the_commit_and_never_for_a_rollback(pg: Database) -> None:
    factory = make_sessionmaker(pg.engine)
    with psycopg.connect(_conninfo(pg), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        session: Session
        with factory() as session:
            push_emit(session, "queue.changed", ["admin"])
            session.flush()
            session.rollback()
            row = push_emit(session, "queue.changed", ["admin"])
            session.commit()
        payloads = [note.payload for note in listener.notifies(timeout=2.0, stop_after=1)]
        assert [notice_parse(payload) for payload in payloads] == [(row.id, ["admin"])]
        assert list(listener.notifies(timeout=0.3)) == []
