"""Server-Sent Events for live screens (hallway displays, staff panels, tablets).

A stream sends the PushEvent rows addressed to its topics, each with its id,
so a reconnecting browser (Last-Event-ID, or ?after=<id>) gets exactly what it
missed. Between events it sleeps on the push bus, and sends a comment every
`heartbeat` seconds so proxies and the browser know the line is alive.

Under `priyom serve` the worker lets a stream's connection go to the app's
StreamHub (visits/web/stream_hub.py): one thread writes all of them, and the
request's thread returns to the pool. Elsewhere (the Flask test client, a plain
WSGI server) the stream is a generator that holds its thread, with the same
texts and the same semantics.
"""

from __future__ import annotations

import bisect
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from flask import Response, current_app, g, request, stream_with_context, url_for
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from visits.models import PushEvent
from visits.push import PushBus, push_events_after, push_latest_id
from visits.web.context import db, priyom
from visits.web.stream_hub import (
    DB_RETRY_SECONDS,
    HubStream,
    Shape,
    StreamHub,
    count_stream,
    events_text,
    run_idle_hook,
)
from visits.web.stream_hub import connected_streams as connected_streams

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects at once: nothing is held forever.
MAX_STREAM_SECONDS = 30 * 60
# Set in the environ by the production worker (visits/web/server.py): a push stream's
# connection may be handed to the app's StreamHub instead of holding the request's thread.
HANDOVER_ENVIRON = "priyom.stream_handover"


class StreamHandedOver(Exception):  # noqa: N818 (not an error: a way out for the worker)
    """Raised past Flask once the hub owns the connection: the worker lets the socket go."""


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

    @property
    def upto(self) -> int:
        """The newest event id read into the cache."""
        return self._upto

    def refresh(
        self, session_factory: Callable[[], Session], *, known_latest: int, force: bool
    ) -> None:
        """Read the rows newer than the cache when the bus announced one, or when `force`
        (nothing announced: another process may have written; at most every `min_interval`)."""
        with self._lock:
            self._refresh(session_factory, known_latest=known_latest, force=force)

    def _refresh(
        self, session_factory: Callable[[], Session], *, known_latest: int, force: bool
    ) -> None:
        now = time.monotonic()
        stale = known_latest > self._upto or (force and now - self._read_at >= self._min_interval)
        if self._base is not None and not stale:
            return
        with session_factory() as session:
            if self._base is None:
                self._base = self._upto = push_latest_id(session)
            rows, _ = push_events_after(session, self._upto, (), limit=1000, all_topics=True)
        self._read_at = now
        for row in rows:
            self._events.append((row.id or 0, row.kind, frozenset(row.topics), _json(row)))
            self._upto = max(self._upto, row.id or 0)
        if len(self._events) > self._capacity:
            drop = len(self._events) - self._capacity
            self._base = self._events[drop - 1][0]
            del self._events[:drop]

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
            self._refresh(session_factory, known_latest=known_latest, force=force)
            assert self._base is not None
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
        # On the request's own session, which the page then reads on: no second session
        # and connection checkout (SQLite: the page's reads see this snapshot or a later one).
        g.priyom_push_after = push_latest_id(db())


def push_stream_url(endpoint: str) -> str:
    """The address of a page's stream, starting after the position read before the page."""
    after = g.get("priyom_push_after")
    if after is None:  # a fragment that opens a stream: now (its own reads') is the best it knows
        after = g.priyom_push_after = push_latest_id(db())
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
    shape: Shape | None = None,
) -> Response:
    """Stream the events of `topics` as text/event-stream.

    `shape(id, kind, data)` may give a screen more than the row's ids: a hallway
    display gets the line it draws, so it does not fetch its board on each call.
    Streams with equal topics and the same `shape` object share one text per wake-up.
    """
    after = _start_id(session_factory)
    bus = priyom().bus
    recent = _recent_events()
    if request.environ.get(HANDOVER_ENVIRON) and "gunicorn.socket" in request.environ:
        hub = _stream_hub(session_factory, bus, recent)
        return _HandedOverStream(
            hub,
            lambda sock: HubStream(
                sock=sock,
                topics=tuple(topics),
                last=after,
                heartbeat=heartbeat,
                ends_at=time.monotonic() + max_seconds,
                shape=shape,
                on_idle=on_idle,
            ),
        )

    def generate() -> Iterator[str]:
        count_stream(+1)
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
            count_stream(-1)

    return _with_stream_headers(Response(stream_with_context(generate())))


def _with_stream_headers(response: Response) -> Response:
    response.mimetype = "text/event-stream"
    response.headers["Cache-Control"] = "no-cache"
    # nginx: do not buffer the stream (see the deployment guide).
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _opening(after: int) -> str:
    return f"retry: 2000\n: connected after {after}\n\n"


class _HandedOverStream(Response):
    """A stream whose connection the hub takes once Flask has decided the response.

    Its head is written as Flask made it (the after-request headers included), as
    HTTP/1.1 with `Connection: close`: the body ends when the hub closes the socket.
    """

    def __init__(self, hub: StreamHub, make: Callable[[socket.socket], HubStream]) -> None:
        super().__init__()
        _with_stream_headers(self)
        self._hub, self._make = hub, make

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> NoReturn:
        _body, status, headers = self.get_wsgi_response(environ)
        # The empty body's Content-Length would end the stream before it starts.
        lines = [f"{k}: {v}\r\n" for k, v in headers if k.lower() != "content-length"]
        head = f"HTTP/1.1 {status}\r\n{''.join(lines)}Connection: close\r\n\r\n"
        stream = self._make(environ["gunicorn.socket"])
        self._hub.attach(stream, head.encode("latin-1") + _opening(stream.last).encode())
        raise StreamHandedOver


def _stream_hub(
    session_factory: Callable[[], Session], bus: PushBus, recent: RecentEvents
) -> StreamHub:
    """The app's hub (one per app: tests run many apps on many databases in one process)."""
    extensions = current_app.extensions
    hub: StreamHub | None = extensions.get("priyom_stream_hub")
    if hub is None:
        with _hub_lock:
            hub = extensions.get("priyom_stream_hub")
            if hub is None:
                hub = extensions["priyom_stream_hub"] = StreamHub(session_factory, bus, recent)
    return hub


_hub_lock = threading.Lock()


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
    yield _opening(last)
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
            yield events_text(events, shape)
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
            run_idle_hook(on_idle)
            yield ": ping\n\n"
