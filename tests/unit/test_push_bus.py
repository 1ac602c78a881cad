"""The push bus wakes only the streams an event is for (DOMAIN: displays, panels, tablets)."""

import json
import os
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tests.conftest import Database
from visits.db import make_sessionmaker, write_transaction
from visits.models import PushEvent
from visits.push import (
    CHANNEL,
    InProcessBus,
    SqlitePollBus,
    notice_parse,
    notice_text,
    push_emit,
    push_latest_id,
    push_session_info,
)


def _waiter(
    bus: InProcessBus, after: int, topics: list[str] | None
) -> tuple[threading.Thread, dict[str, int]]:
    """Start a stream-like waiter; `result` holds what wait_beyond returned."""
    result: dict[str, int] = {}

    def wait() -> None:
        result["newest"] = bus.wait_beyond(after, 5.0, topics)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    deadline = time.monotonic() + 2
    while not bus._waiters and time.monotonic() < deadline:  # until it is asleep
        time.sleep(0.005)
    return thread, result


def test_a_display_sleeps_through_a_check_in_and_wakes_for_a_call() -> None:
    bus = InProcessBus()
    display, result = _waiter(bus, 0, ["displays"])
    bus.notify(5, ["staff:3", "admin"])  # a check-in: the specialist and the administrators
    display.join(0.2)
    assert display.is_alive()
    bus.notify(6, ["displays", "staff:3"])  # a call
    display.join(2.0)
    assert not display.is_alive() and result["newest"] == 6


def test_an_announcement_of_nothing_newer_does_not_end_the_wait() -> None:
    """A poller that starts announces the id it knows: streams past it sleep on."""
    bus = InProcessBus()
    display, result = _waiter(bus, 5, ["displays"])
    bus.notify(5)  # for everyone, but not newer than the display's position
    display.join(0.2)
    assert display.is_alive()
    bus.notify(6, ["displays"])
    display.join(2.0)
    assert not display.is_alive() and result["newest"] == 6


def test_an_event_announced_before_the_wait_is_not_missed() -> None:
    bus = InProcessBus()
    bus.notify(9, ["displays"])
    started = time.monotonic()
    assert bus.wait_beyond(8, 5.0, ["displays"]) == 9
    assert bus.wait_beyond(8, 0.05, ["room:1"]) <= 8  # not for this tablet: it waits it out
    assert time.monotonic() - started < 1.0


def test_an_event_without_topics_wakes_everyone() -> None:
    bus = InProcessBus()
    tablet, result = _waiter(bus, 0, ["room:4"])
    bus.notify(3)
    tablet.join(2.0)
    assert not tablet.is_alive() and result["newest"] == 3


def test_the_notice_carries_the_newest_id_and_the_topics() -> None:
    events = [
        PushEvent(kind="ticket.called", topics=["displays", "staff:2"]),
        PushEvent(kind="queue.changed", topics=["unit:Отдел 1", "staff:2"]),
    ]
    assert notice_parse(notice_text(41, events)) == (41, ["displays", "staff:2", "unit:Отдел 1"])
    assert notice_parse("40") == (40, None)  # an older server's bare id: for everyone
    assert notice_parse("not json") is None


def test_sqlite_workers_hear_events_committed_by_another_process(fresh_db: Database) -> None:
    """A worker's poll of the event table wakes its streams for rows it did not write."""
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL servers hear each other by LISTEN/NOTIFY")
    path = make_url(fresh_db.url).database or ""
    bus = SqlitePollBus(path, interval=0.01)
    try:
        with make_sessionmaker(fresh_db.engine)() as session:
            start = push_latest_id(session)
        display, result = _waiter(bus, start, ["displays"])
        # Written as another process would: this process's own bus is not this one.
        with make_sessionmaker(fresh_db.engine)() as session, write_transaction(session):
            push_emit(session, "ticket.checked_in", ["staff:3"], ticket_id=1)
        with make_sessionmaker(fresh_db.engine)() as session, write_transaction(session):
            call = push_emit(session, "ticket.called", ["displays"], ticket_id=1)
        display.join(5)
        assert result["newest"] == call.id
    finally:
        bus.close()


def test_a_commit_wakes_the_bus_its_session_carries_and_no_other(
    session_factory: Callable[[], Session],
) -> None:
    """Two apps in one process (two offices, two tests) each own a bus: no cross-talk."""
    mine, other = InProcessBus(), InProcessBus()
    info = push_session_info(mine)
    with session_factory() as session:
        session.info.update(info)
        with write_transaction(session):
            call = push_emit(session, "ticket.called", ["displays"], ticket_id=1)
    assert call.id is not None
    assert mine.latest == call.id
    assert mine.wait_beyond(call.id - 1, 0.0, ["displays"]) == call.id
    assert other.latest == 0


def test_a_session_without_a_bus_writes_its_event_and_wakes_nobody(
    session_factory: Callable[[], Session],
) -> None:
    """A CLI command or the standalone scheduler: the row is there for the next read."""
    with session_factory() as session, write_transaction(session):
        row = push_emit(session, "printer.alert", ["admin"], printer="kiosk-1")
    with session_factory() as session:
        assert row.id is not None and push_latest_id(session) >= row.id


def test_a_listener_hears_each_announcement_with_its_topics() -> None:
    """The stream hub's way in: told at once, by the announcing thread."""
    bus = InProcessBus()
    heard: list[frozenset[str] | None] = []
    bus.subscribe(heard.append)
    bus.notify(5, ["staff:3", "admin"])
    bus.notify(6)
    assert heard == [frozenset({"staff:3", "admin"}), None]
    assert bus.latest == 6


def test_a_worker_s_commit_pokes_the_other_workers_buses_at_once(fresh_db: Database) -> None:
    """Two workers' buses on one SQLite file: a commit in one wakes the other's streams
    through its wake-up socket, not at its next poll (here: an hour away)."""
    if fresh_db.backend != "sqlite":
        pytest.skip("PostgreSQL servers hear each other by LISTEN/NOTIFY")
    path = make_url(fresh_db.url).database or ""
    # A worker that died without closing its bus left its name behind: it is cleared.
    os.makedirs(f"{path}-push", exist_ok=True)
    open(f"{path}-push/1-0.wake", "w").close()  # noqa: SIM115
    writer, reader = SqlitePollBus(path, interval=3600), SqlitePollBus(path, interval=3600)
    try:
        with make_sessionmaker(fresh_db.engine)() as session:
            start = push_latest_id(session)
        display, result = _waiter(reader, start, ["displays"])
        factory = make_sessionmaker(fresh_db.engine, info=push_session_info(writer))
        with factory() as session, write_transaction(session):
            call = push_emit(session, "ticket.called", ["displays"], ticket_id=1)
        display.join(10)
        assert result["newest"] == call.id
        assert not os.path.exists(f"{path}-push/1-0.wake")
    finally:
        writer.close()
        reader.close()
    assert os.listdir(f"{path}-push") == []  # each bus took its socket away


def test_postgres_writes_a_commit_s_events_in_order_with_one_notice(fresh_db: Database) -> None:
    """PostgreSQL: the lock, the rows and the NOTIFY go in one statement; the rows keep
    push_emit()'s order and their payloads' text, and the notice names the newest id."""
    if fresh_db.backend != "postgres":
        pytest.skip("SQLite has one writer at a time and no NOTIFY")
    import psycopg

    listener = psycopg.connect(fresh_db.url.replace("+psycopg", ""), autocommit=True)
    try:
        listener.execute(f"LISTEN {CHANNEL}")
        with make_sessionmaker(fresh_db.engine)() as session, write_transaction(session):
            events = [
                push_emit(session, "ticket.called", ["displays", "room:3"], ticket_id=7),
                push_emit(session, "queue.changed", ["staff:2"], note="Очередь «А»", n=[1, 2]),
                push_emit(session, "invite", ["room:3"], ticket_id=7),
            ]
        ids = [event.id for event in events]
        assert all(ids) and ids == sorted(ids)
        with make_sessionmaker(fresh_db.engine)() as session:
            rows = session.execute(
                text("SELECT id, kind, topics::text, payload::text FROM pushevent ORDER BY id")
            ).all()
        assert [tuple(row) for row in rows[-3:]] == [
            (event.id, event.kind, json.dumps(event.topics), json.dumps(event.payload))
            for event in events
        ]
        notices = [note.payload for note in listener.notifies(timeout=5, stop_after=1)]
        assert [notice_parse(note) for note in notices] == [
            (ids[-1], ["displays", "room:3", "staff:2"])
        ]
    finally:
        listener.close()
