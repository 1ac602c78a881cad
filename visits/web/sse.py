"""Server-Sent Events for live screens (hallway displays, staff panels, tablets).

A stream sends the PushEvent rows addressed to its topics, each with its id,
so a reconnecting browser (Last-Event-ID, or ?after=<id>) gets exactly what it
missed. Between events it sleeps on the push bus, and sends a comment every
`heartbeat` seconds so proxies and the browser know the line is alive.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from flask import Response, request, stream_with_context
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from visits.push import get_bus, push_events_after, push_latest_id

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
) -> Response:
    """Stream the events of `topics` as text/event-stream."""
    after = _start_id(session_factory)
    bus = get_bus()

    def generate() -> Iterator[str]:
        _count(+1)
        try:
            yield from stream()
        finally:
            _count(-1)

    def stream() -> Iterator[str]:
        last = after
        deadline = time.monotonic() + max_seconds
        yield f"retry: 2000\n: connected after {last}\n\n"
        while time.monotonic() < deadline:
            try:
                with session_factory() as session:
                    events, last = push_events_after(session, last, topics)
            except DBAPIError as exc:
                # The database restarts or fails over: keep the browser's connection (no
                # "нет связи" on the screens) and read again; nothing is lost, the rows stay.
                log.warning("push stream: database unavailable (%s); retrying", type(exc).__name__)
                yield ": database unavailable\n\n"
                time.sleep(DB_RETRY_SECONDS)
                continue
            for event in events:
                data = json.dumps(
                    {"id": event.id, "kind": event.kind, **event.payload}, ensure_ascii=False
                )
                yield f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"
            if events:
                continue
            if bus.wait_beyond(last, heartbeat) <= last:
                if on_idle is not None:
                    try:
                        on_idle()
                    except DBAPIError:
                        log.warning("push stream: idle hook could not reach the database")
                yield ": ping\n\n"

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    # nginx: do not buffer the stream (see the deployment guide).
    response.headers["X-Accel-Buffering"] = "no"
    return response
