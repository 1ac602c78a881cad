"""Server-Sent Events for live screens (hallway displays, staff panels, tablets).

A stream sends the PushEvent rows addressed to its topics, each with its id,
so a reconnecting browser (Last-Event-ID, or ?after=<id>) gets exactly what it
missed. Between events it sleeps on the push bus, and sends a comment every
`heartbeat` seconds so proxies and the browser know the line is alive.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from flask import Response, current_app, g, request, stream_with_context, url_for
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from visits.models import PushEvent
from visits.push import PushBus, push_events_after, push_latest_id
from visits.web.context import priyom

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects at once: no thread is held forever.
MAX_STREAM_SECONDS = 30 * 60
# While the database is unreachable a stream looks again this often.
DB_RETRY_SECONDS = 1.0

_connected = 0
_connected_lock = threading.Lock()


def connected_streams() -> int:
    """Push streams open in this process now (for /metrics)."""
    return _connected


def _count(delta: int) -> None:
    global _connected
    with _connected_lock:
        _connected += delta


class RecentEvents:
    """The newest push events of this process, read from the database once per wake-up.

    A call wakes every open stream (100 hallway displays, tablets, staff panels);
    without this each would run the same query. Streams that fell far behind (a
    reconnect after a long outage) read their own rows instead.
    """

    def __init__(self, capacity: int = 5000, min_interval: float = 0.1) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[int, str, frozenset[str], str]] = []
        self._base: int | None = None  # events after this id are all in the cache
        self._upto = 0
        self._read_at = 0.0
        self._capacity = capacity
        self._min_interval = min_interval

    def after(
        self,
        session_factory: Callable[[], Session],
        after_id: int,
        topics: Sequence[str],
        *,
        known_latest: int,
        force: bool,
    ) -> tuple[list[tuple[int, str, str]], int]:
        """Events after `after_id` for `topics` as (id, kind, json), and the last id read."""
        with self._lock:
            now = time.monotonic()
            stale = known_latest > self._upto or (
                force and now - self._read_at >= self._min_interval
            )
            if self._base is None or stale:
                with session_factory() as session:
                    if self._base is None:
                        self._base = self._upto = push_latest_id(session)
                    rows, _ = push_events_after(
                        session, self._upto, (), limit=1000, all_topics=True
                    )
                self._read_at = now
                for row in rows:
                    self._events.append((row.id or 0, row.kind, frozenset(row.topics), _json(row)))
                    self._upto = max(self._upto, row.id or 0)
                if len(self._events) > self._capacity:
                    drop = len(self._events) - self._capacity
                    self._base = self._events[drop - 1][0]
                    del self._events[:drop]
            if after_id >= self._base:
                # Ids are in order: look only at the events after this stream's position
                # (a wake-up costs each of 100 streams the new events, not the whole cache).
                start = bisect.bisect_right(self._events, after_id, key=lambda event: event[0])
                wanted = set(topics)
                found = [(i, k, d) for i, k, t, d in self._events[start:] if wanted & t]
                return found, max(after_id, self._upto)
        with session_factory() as session:
            rows, last = push_events_after(session, after_id, topics)
        return [(row.id or 0, row.kind, _json(row)) for row in rows], last


def _json(row: PushEvent) -> str:
    return json.dumps({"id": row.id, "kind": row.kind, **row.payload}, ensure_ascii=False)


def _recent_events() -> RecentEvents:
    """The app's cache (one per app: tests run many apps on many databases in one process)."""
    extensions = current_app.extensions
    cache: RecentEvents | None = extensions.get("priyom_recent_events")
    if cache is None:
        cache = extensions.setdefault("priyom_recent_events", RecentEvents())
    return cache


def remember_push_position() -> None:
    """Before a live page is read: note the newest event id, for its stream to start after.

    A stream opened without a position starts at the newest event when it connects,
    a moment after the page was read: an event committed in between (a check-in
    while the specialist's day loads) would change nothing on screen until the
    next one. Read before the page, the position is never newer than what it shows;
    an event counted twice only refreshes a fragment once more.
    """
    navigation = "text/html" in request.headers.get("Accept", "")  # not a stream, not a file
    if request.method == "GET" and navigation and not request.headers.get("HX-Request"):
        with priyom().session_factory() as session:
            g.priyom_push_after = push_latest_id(session)


def push_stream_url(endpoint: str) -> str:
    """The address of a page's stream, starting after the position read before the page."""
    after = g.get("priyom_push_after")
    if after is None:  # a fragment that opens a stream: now is the best it knows
        with priyom().session_factory() as session:
            after = g.priyom_push_after = push_latest_id(session)
    return url_for(endpoint, after=after)


def _start_id(session_factory: Callable[[], Session]) -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after", "")
    if raw.isdigit():
        return int(raw)
    with session_factory() as session:
        return push_latest_id(session)


def sse_response(
    topics: Sequence[str],
    session_factory: Callable[[], Session],
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    max_seconds: float = MAX_STREAM_SECONDS,
    on_idle: Callable[[], None] | None = None,
    shape: Callable[[int, str, str], str] | None = None,
) -> Response:
    """Stream the events of `topics` as text/event-stream.

    `shape(id, kind, data)` may give a screen more than the row's ids: a hallway
    display gets the line it draws, so it does not fetch its board on each call.
    """
    after = _start_id(session_factory)
    bus = priyom().bus
    recent = _recent_events()

    def generate() -> Iterator[str]:
        _count(+1)
        try:
            yield from _stream(
                after,
                topics,
                session_factory,
                bus=bus,
                recent=recent,
                heartbeat=heartbeat,
                max_seconds=max_seconds,
                on_idle=on_idle,
                shape=shape,
            )
        finally:
            _count(-1)

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    # nginx: do not buffer the stream (see the deployment guide).
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _stream(
    after: int,
    topics: Sequence[str],
    session_factory: Callable[[], Session],
    *,
    bus: PushBus,
    recent: RecentEvents,
    heartbeat: float,
    max_seconds: float,
    on_idle: Callable[[], None] | None,
    shape: Callable[[int, str, str], str] | None,
) -> Iterator[str]:
    """Yield the events after `after`, a ping each quiet heartbeat, until `max_seconds` pass."""
    last = after
    deadline = time.monotonic() + max_seconds
    yield f"retry: 2000\n: connected after {last}\n\n"
    force = False
    heard = last
    while time.monotonic() < deadline:
        try:
            events, last = recent.after(
                session_factory, last, topics, known_latest=bus.latest, force=force
            )
        except DBAPIError as exc:
            # The database restarts or fails over: keep the browser's connection (no
            # "нет связи" on the screens) and read again; nothing is lost, the rows stay.
            log.warning("push stream: database unavailable (%s); retrying", type(exc).__name__)
            yield ": database unavailable\n\n"
            time.sleep(DB_RETRY_SECONDS)
            continue
        force = False
        if events:
            # One write for what one wake-up found: a burst of calls costs each of a
            # thousand streams one send, not one per event.
            yield "".join(
                f"id: {event_id}\nevent: {kind}\n"
                f"data: {shape(event_id, kind, data) if shape else data}\n\n"
                for event_id, kind, data in events
            )
            continue
        # An id the bus announced but the table does not show (yet) is not waited
        # for again: the stream sleeps until something newer or the heartbeat,
        # instead of spinning on reads that find nothing.
        waited_from = max(last, heard)
        heard = bus.wait_beyond(waited_from, heartbeat, topics)
        if heard <= waited_from:
            # Nothing announced: events written by another process (a scheduler,
            # a server without a shared bus) are found by reading the table.
            force = True
            _run_idle_hook(on_idle)
            yield ": ping\n\n"


def _run_idle_hook(on_idle: Callable[[], None] | None) -> None:
    """Run the screen's idle hook, if any; a database outage only logs."""
    if on_idle is None:
        return
    try:
        on_idle()
    except DBAPIError:
        log.warning("push stream: idle hook could not reach the database")
