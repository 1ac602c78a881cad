"""One thread writes every push stream a server hands over: a thousand displays, one wake-up.

A stream used to hold a server thread for its half hour: asleep between events,
cheap alone. A call woke every one of them, and a thousand threads then queued
for the interpreter lock to each read, shape and send the same few hundred bytes:
the last display had the number a second after the click, and the threads' stacks
and frames cost 47 MiB. The production worker (visits/web/server.py) now hands a
stream's connection to this hub once the response is decided, and the request's
thread goes back to the pool. The hub's one thread sleeps on the sockets and on a
wake-up socket the push bus pokes; on a wake-up it reads the new events once,
builds each group's text once (streams with the same topics, shape and position:
the displays of one spot), and writes it to each socket without blocking.

Semantics are those of a stream in a thread: the events after the stream's
position (Last-Event-ID or ?after=) for its topics, a comment every `heartbeat`
quiet seconds with the screen's idle hook (on a helper thread: it touches the
database), a read of the table when nothing was announced (events written by a
process without a shared bus), the end after `max_seconds` (the browser
reconnects and resumes), a comment while the database is unreachable.

The hub's thread runs while it has streams: an idle server holds none of it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import random
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

if TYPE_CHECKING:
    from visits.push import PushBus
    from visits.web.sse import RecentEvents

log = logging.getLogger(__name__)

# shape(id, kind, data) -> data: what a screen's stream carries beyond the row's ids.
Shape = Callable[[int, str, str], str]
# While the database is unreachable a stream looks again this often.
DB_RETRY_SECONDS = 1.0
# A client that has not read this much of its stream is gone or stuck: it is closed and
# resumes from its Last-Event-ID when it reconnects (about a thousand calls' lines).
MAX_UNSENT_BYTES = 256 * 1024
PING = b": ping\n\n"

_connected = 0
_connected_lock = threading.Lock()


def connected_streams() -> int:
    """Push streams open in this process now (for /metrics)."""
    return _connected


def count_stream(delta: int) -> None:
    global _connected
    with _connected_lock:
        _connected += delta


def events_text(events: Sequence[tuple[int, str, str]], shape: Shape | None) -> str:
    """The SSE text of events (id, kind, data): one write for what one wake-up found."""
    return "".join(
        f"id: {event_id}\nevent: {kind}\ndata: {shape(event_id, kind, data) if shape else data}\n\n"
        for event_id, kind, data in events
    )


def run_idle_hook(on_idle: Callable[[], None] | None) -> None:
    """Run a screen's idle hook, if any; a database outage only logs."""
    if on_idle is None:
        return
    try:
        on_idle()
    except DBAPIError:
        log.warning("push stream: idle hook could not reach the database")


@dataclass(eq=False)
class HubStream:
    """One handed-over stream: its socket, what it wants, where it is, what it still owes."""

    sock: socket.socket
    topics: tuple[str, ...]
    last: int  # the newest event id this stream has been given or has passed
    heartbeat: float
    ends_at: float
    shape: Shape | None = None
    on_idle: Callable[[], None] | None = None
    quiet_until: float = 0.0  # a ping is due then, unless something is written before
    unsent: bytearray = field(default_factory=bytearray)
    closed: bool = False

    def due(self) -> float:
        return min(self.quiet_until, self.ends_at)


class StreamHub:
    """The handed-over push streams of one app in this process, written by one thread."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        bus: PushBus,
        recent: RecentEvents,
    ) -> None:
        self._factory, self._bus, self._recent = session_factory, bus, recent
        self._lock = threading.Lock()
        self._arrivals: list[tuple[HubStream, bytes]] = []
        self._thread: threading.Thread | None = None
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        # Only the hub's thread touches what follows.
        self._streams: dict[HubStream, None] = {}  # in order of arrival
        self._topics: Counter[str] = Counter()
        self._interests: frozenset[str] = frozenset()
        self._timers: list[tuple[float, int, HubStream]] = []
        self._order = itertools.count()
        self._selector: selectors.BaseSelector | None = None
        self._idle_hooks: ThreadPoolExecutor | None = None
        self._heard = 0  # the bus's newest id when the hub last read the table
        self._force = False  # a heartbeat passed: read the table even if nothing was announced
        self._unsynced = False  # some stream is not at the newest event read
        self._retry_at = 0.0  # the database failed: not before then
        bus.subscribe(self._announced)

    def attach(self, stream: HubStream, opening: bytes) -> None:
        """Take over a stream's connection (any thread); `opening` goes first (its HTTP head)."""
        count_stream(+1)
        with self._lock:
            self._arrivals.append((stream, opening))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="push-hub", daemon=True)
                self._thread.start()
        self._poke()

    def _announced(self, topics: frozenset[str] | None) -> None:
        if self._thread is not None and (topics is None or topics & self._interests):
            self._poke()

    def _poke(self) -> None:
        # A full buffer means a wake-up is already pending.
        with contextlib.suppress(BlockingIOError):
            self._wake_in.send(b"\0")

    def _run(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_out, selectors.EVENT_READ, None)
        try:
            while self._admit():
                timeout = 0.0 if self._unsynced else self._next_timer() - time.monotonic()
                for key, mask in self._selector.select(max(0.0, timeout)):
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_out.recv(4096)
                    else:
                        self._on_socket(key.data, mask)
                self._on_timers()  # first: a quiet heartbeat asks for a read of the table
                self._send_news()
        except Exception:
            log.exception("push hub: stopped; its streams are closed and will reconnect")
            for stream in list(self._streams):
                self._close(stream)
            with self._lock:
                arrivals, self._arrivals = self._arrivals, []
                self._stop()
            for stream, _opening in arrivals:
                stream.sock.close()
                count_stream(-1)

    def _admit(self) -> bool:
        """Take the streams handed over since the last turn; False when none is left."""
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
            if not arrivals and not self._streams:
                self._stop()
                return False
        now = time.monotonic()
        for stream, opening in arrivals:
            stream.sock.setblocking(False)
            assert self._selector is not None
            self._selector.register(stream.sock, selectors.EVENT_READ, stream)
            self._streams[stream] = None
            self._topics.update(stream.topics)
            self._write(stream, opening)
            # The first ping after a random part of the heartbeat: a thousand displays that
            # reconnect together (a server restart) do not all touch the database at once.
            stream.quiet_until = now + stream.heartbeat * random.uniform(0.5, 1.0)
            heapq.heappush(self._timers, (stream.due(), next(self._order), stream))
            self._unsynced = True  # its position is its own until the next pass
        if arrivals:
            self._interests = frozenset(self._topics)
        return True

    def _stop(self) -> None:
        """The last stream is gone: let the thread go (under the lock: a new one may start)."""
        assert self._selector is not None
        self._selector.close()
        self._selector = None
        if self._idle_hooks is not None:
            self._idle_hooks.shutdown(wait=False)
            self._idle_hooks = None
        self._timers.clear()
        self._thread = None

    def _next_timer(self) -> float:
        due = self._timers[0][0] if self._timers else time.monotonic() + 60
        if self._retry_at:
            due = min(due, self._retry_at)
        return due

    def _send_news(self) -> None:
        """Read the new events once and give each stream those of its topics."""
        now = time.monotonic()
        if self._retry_at and now < self._retry_at:
            return
        latest = self._bus.latest
        if not (latest > self._heard or self._force or self._unsynced):
            return
        before = self._recent.upto
        try:
            self._recent.refresh(self._factory, known_latest=latest, force=self._force)
            self._heard, self._force, self._retry_at = latest, False, 0.0
            if self._recent.upto > before or self._unsynced:
                self._pass()
        except DBAPIError as exc:
            # The database restarts or fails over: keep the connections (no "нет связи"
            # on the screens) and read again; nothing is lost, the rows stay.
            log.warning("push hub: database unavailable (%s); retrying", type(exc).__name__)
            self._retry_at = now + DB_RETRY_SECONDS
            for stream in list(self._streams):
                self._write(stream, b": database unavailable\n\n")

    def _pass(self) -> None:
        """Give every stream what is new for it: one text per topics, shape and position."""
        texts: dict[tuple[tuple[str, ...], Shape | None, int], tuple[bytes, int]] = {}
        upto = self._recent.upto
        self._unsynced = False
        for stream in list(self._streams):
            key = (stream.topics, stream.shape, stream.last)
            found = texts.get(key)
            if found is None:
                events, last = self._recent.after(
                    self._factory, stream.last, stream.topics, known_latest=0, force=False
                )
                found = texts[key] = (events_text(events, stream.shape).encode(), last)
            text, stream.last = found
            if stream.last < upto:
                self._unsynced = True  # far behind: it read a page of its own rows
            if text:
                self._write(stream, text)

    def _on_timers(self) -> None:
        """Pings for streams quiet for a heartbeat, the end for streams past their time."""
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _due, _order, stream = heapq.heappop(self._timers)
            if stream.closed:
                continue
            if now >= stream.ends_at:
                self._close(stream)  # the browser reconnects at once and resumes
                continue
            if now >= stream.quiet_until:
                # Nothing for a heartbeat: events written by another process without
                # the bus are found by reading the table; the screen's hook runs.
                self._force = True
                if stream.on_idle is not None:
                    self._idle_pool().submit(run_idle_hook, stream.on_idle)
                self._write(stream, PING)
            if not stream.closed:
                heapq.heappush(self._timers, (stream.due(), next(self._order), stream))

    def _idle_pool(self) -> ThreadPoolExecutor:
        if self._idle_hooks is None:
            self._idle_hooks = ThreadPoolExecutor(1, thread_name_prefix="push-idle")
        return self._idle_hooks

    def _write(self, stream: HubStream, data: bytes) -> None:
        """Send without blocking; what the socket does not take waits for it to drain."""
        if stream.closed:
            return
        stream.quiet_until = time.monotonic() + stream.heartbeat
        if stream.unsent:
            stream.unsent += data
            if len(stream.unsent) > MAX_UNSENT_BYTES:
                self._close(stream)
            return
        try:
            sent = stream.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(stream)
            return
        if sent < len(data):
            stream.unsent += data[sent:]
            assert self._selector is not None
            self._selector.modify(stream.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, stream)

    def _on_socket(self, stream: HubStream, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            try:
                if not stream.sock.recv(4096):
                    self._close(stream)  # the browser went away
                    return
            except BlockingIOError:
                pass
            except OSError:
                self._close(stream)
                return
        if mask & selectors.EVENT_WRITE and stream.unsent:
            try:
                sent = stream.sock.send(stream.unsent)
            except BlockingIOError:
                return
            except OSError:
                self._close(stream)
                return
            del stream.unsent[:sent]
            if not stream.unsent:
                assert self._selector is not None
                self._selector.modify(stream.sock, selectors.EVENT_READ, stream)

    def _close(self, stream: HubStream) -> None:
        if stream.closed:
            return
        stream.closed = True
        assert self._selector is not None
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(stream.sock)
        del self._streams[stream]
        self._topics.subtract(stream.topics)
        self._topics = +self._topics  # drop the topics nobody listens to
        self._interests = frozenset(self._topics)
        count_stream(-1)
        with contextlib.suppress(OSError):
            stream.sock.shutdown(socket.SHUT_RDWR)
        stream.sock.close()
