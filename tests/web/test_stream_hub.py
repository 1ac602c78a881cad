"""The stream hub: one thread writes every handed-over push stream (displays, tablets, panels).

The streams here are socket pairs: the test holds the browser's end. The hub's thread
reads the database with its own sessions, so the events are really committed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from tests.conftest import Database
from tests.factories import make_device
from visits.config import OfficeConfig
from visits.db import make_sessionmaker, write_transaction
from visits.models import DeviceKind
from visits.push import InProcessBus, push_emit, push_latest_id, push_session_info
from visits.settings import Settings
from visits.web import stream_hub
from visits.web.server import _Gunicorn
from visits.web.sse import HANDOVER_ENVIRON, RecentEvents, StreamHandedOver
from visits.web.stream_hub import HubStream, StreamHub, connected_streams

Hub = tuple[StreamHub, Callable[[], Session], InProcessBus]


@pytest.fixture
def hub(fresh_db: Database) -> Iterator[Hub]:
    bus = InProcessBus()
    factory = make_sessionmaker(fresh_db.engine, info=push_session_info(bus))
    yield StreamHub(factory, bus, RecentEvents(min_interval=0.0)), factory, bus
    bus.close()


def _emit(factory: Callable[[], Session], kind: str, topics: list[str], **ids: int) -> int:
    with factory() as session, write_transaction(session):
        row = push_emit(session, kind, topics, **ids)
    assert row.id is not None
    return row.id


def _latest(factory: Callable[[], Session]) -> int:
    with factory() as session:
        return push_latest_id(session)


def _open(
    hub: StreamHub,
    topics: tuple[str, ...],
    after: int,
    *,
    heartbeat: float = 30.0,
    seconds: float = 60.0,
    buffers: int | None = None,
    **options: object,
) -> socket.socket:
    """Hand a stream to the hub; return the browser's end (reads time out after 5 s)."""
    server_end, browser_end = socket.socketpair()
    if buffers is not None:  # the socket's own buffers, both ends
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffers)
        browser_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffers)
    stream = HubStream(
        sock=server_end,
        topics=topics,
        last=after,
        heartbeat=heartbeat,
        ends_at=time.monotonic() + seconds,
        **options,  # type: ignore[arg-type]
    )
    hub.attach(stream, b"opening\n\n")
    browser_end.settimeout(5.0)
    return browser_end


def _read_until(browser: socket.socket, text: str) -> str:
    """What the stream sent, up to and including `text` (fails after the read timeout)."""
    got = b""
    while text.encode() not in got:
        chunk = browser.recv(65536)
        assert chunk, f"the stream ended before {text!r}: {got!r}"
        got += chunk
    return got.decode()


def test_each_stream_gets_its_topics_events_and_one_spot_shares_one_text(hub: Hub) -> None:
    hub_, factory, _bus = hub
    start = _latest(factory)
    shaped: list[int] = []

    def shape(event_id: int, kind: str, data: str) -> str:
        shaped.append(event_id)
        return data.replace("}", ', "line": "f3"}')

    displays = [_open(hub_, ("displays",), start, shape=shape) for _ in range(3)]
    tablet = _open(hub_, ("room:4",), start)
    for browser in (*displays, tablet):
        assert _read_until(browser, "opening\n\n") == "opening\n\n"
    _emit(factory, "ticket.checked_in", ["staff:3"], ticket_id=1)  # nobody here listens
    call = _emit(factory, "ticket.called", ["displays", "staff:3"], ticket_id=1)
    rating = _emit(factory, "rating.prompt", ["room:4"], ticket_id=1)
    for browser in displays:
        text = _read_until(browser, '"line": "f3"}\n\n')
        assert text.startswith(f"id: {call}\nevent: ticket.called\ndata: ")
        assert '"ticket_id": 1' in text and "checked_in" not in text
    assert shaped == [call]  # three displays of one spot, one shape
    text = _read_until(tablet, f"id: {rating}\n")
    assert "ticket.called" not in text and "checked_in" not in text


def test_a_reconnecting_browser_gets_what_it_missed_and_nothing_twice(hub: Hub) -> None:
    hub_, factory, _bus = hub
    first = _emit(factory, "ticket.called", ["displays"], ticket_id=1)
    second = _emit(factory, "ticket.called", ["displays"], ticket_id=2)
    browser = _open(hub_, ("displays",), first)  # Last-Event-ID: the first
    text = _read_until(browser, f"id: {second}\n")
    assert f"id: {first}\n" not in text
    third = _emit(factory, "ticket.recalled", ["displays"], ticket_id=2)
    text = _read_until(browser, f"id: {third}\n")
    assert f"id: {second}\n" not in text


def test_a_quiet_stream_is_pinged_its_screen_touched_and_the_table_read(
    hub: Hub, fresh_db: Database
) -> None:
    """Events written by another process without the bus arrive within a heartbeat."""
    hub_, factory, _bus = hub
    touched: list[float] = []
    browser = _open(
        hub_, ("displays",), _latest(factory), heartbeat=0.2, on_idle=lambda: touched.append(1)
    )
    _read_until(browser, ": ping\n\n")
    elsewhere = make_sessionmaker(fresh_db.engine)  # no bus: the scheduler, say
    silent = _emit(elsewhere, "ticket.no_show", ["displays"], ticket_id=5)
    _read_until(browser, f"id: {silent}\n")
    _read_until(browser, ": ping\n\n")
    assert touched


def test_a_stream_ends_at_its_time_and_the_hub_lets_its_thread_go(hub: Hub) -> None:
    hub_, factory, _bus = hub
    before = connected_streams()
    browser = _open(hub_, ("displays",), _latest(factory), seconds=0.3)
    assert connected_streams() == before + 1
    _read_until(browser, "opening")
    while browser.recv(65536):  # until the hub closes it: the browser reconnects then
        pass
    assert connected_streams() == before
    deadline = time.monotonic() + 5
    while hub_._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub_._thread is None  # no stream, no thread


def test_a_browser_that_leaves_is_dropped(hub: Hub) -> None:
    hub_, factory, _bus = hub
    before = connected_streams()
    browser = _open(hub_, ("displays",), _latest(factory))
    _read_until(browser, "opening")
    browser.close()
    deadline = time.monotonic() + 5
    while connected_streams() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connected_streams() == before


def test_a_browser_that_stops_reading_is_closed_not_buffered_forever(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_, factory, _bus = hub
    monkeypatch.setattr(stream_hub, "MAX_UNSENT_BYTES", 4096)
    _browser = _open(hub_, ("displays",), _latest(factory), buffers=4096)
    deadline = time.monotonic() + 10
    sent = 0
    while hub_._streams and time.monotonic() < deadline:
        sent = _emit(factory, "ticket.called", ["displays"], ticket_id=sent + 1)
    assert not hub_._streams  # closed; it resumes from its Last-Event-ID when it reconnects


def test_the_worker_hands_a_stream_to_the_hub_with_flasks_headers(
    tmp_path: Path, office_config: OfficeConfig, fresh_db: Database
) -> None:
    """Under `priyom serve` a display's stream leaves the request's thread: Flask's head
    goes out as HTTP/1.1 without a length (the body ends when the hub closes it)."""
    settings = Settings(database_url=fresh_db.url, var_dir=tmp_path)
    app = _Gunicorn({}, settings=settings, config=office_config, demo=False).load()
    ctx = app.extensions["priyom"]
    with ctx.session_factory() as session:
        _device, token = make_device(session, DeviceKind.DISPLAY, spot_key="f3-lift")
    server_end, browser = socket.socketpair()
    browser.settimeout(5.0)
    client = app.test_client()
    client.set_cookie("priyom_device", token)
    try:
        with pytest.raises(StreamHandedOver):
            client.get(
                "/signage/stream?after=0",
                environ_base={HANDOVER_ENVIRON: True, "gunicorn.socket": server_end},
            )
        head = _read_until(browser, "connected after 0\n\n")
        assert head.startswith("HTTP/1.1 200 OK\r\n")
        assert "Content-Type: text/event-stream; charset=utf-8\r\n" in head
        assert "X-Accel-Buffering: no\r\n" in head and "Connection: close\r\n\r\n" in head
        assert "Content-Length" not in head
        call = _emit(ctx.session_factory, "ticket.called", ["displays"], ticket_id=999)
        assert f"id: {call}\nevent: ticket.called\n" in _read_until(browser, f"id: {call}\n")
    finally:
        browser.close()
        ctx.bus.close()
        app.extensions["priyom_engine"].dispose()


def test_while_the_database_is_away_the_stream_stays_and_then_catches_up(
    fresh_db: Database,
) -> None:
    """A restart or a failover: the screens keep their connection and miss nothing."""
    bus = InProcessBus()
    factory = make_sessionmaker(fresh_db.engine, info=push_session_info(bus))
    away = True

    def sessions() -> Session:
        if away:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("the database restarts"))
        return factory()

    hub_ = StreamHub(sessions, bus, RecentEvents(min_interval=0.0))
    try:
        browser = _open(hub_, ("displays",), _latest(factory))
        call = _emit(factory, "ticket.called", ["displays"], ticket_id=1)
        _read_until(browser, ": database unavailable\n\n")
        away = False
        text = _read_until(browser, f"id: {call}\n")
        assert "event: ticket.called" in text
    finally:
        bus.close()


def test_displays_that_connect_together_are_pinged_spread_over_the_heartbeat(hub: Hub) -> None:
    """After a restart a thousand displays reconnect at once: their idle touches of the
    database come spread over the heartbeat, not in one burst."""
    hub_, factory, _bus = hub
    opened = time.monotonic()
    browsers = [_open(hub_, ("displays",), _latest(factory), heartbeat=20.0) for _ in range(20)]
    for browser in browsers:
        _read_until(browser, "opening")
    due = [stream.quiet_until - opened for stream in list(hub_._streams)]
    assert len(due) == 20 and all(9.0 <= d <= 21.0 for d in due)
    assert max(due) - min(due) > 1.0
