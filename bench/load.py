"""The load generator: staff, kiosks and push listeners as real HTTP clients on loopback.

Bounded in count and time: every loop has a fixed number of requests and every
request a timeout; listeners stop when the run ends.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import re
import selectors
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

from bench.keepalive import Answer, KeepAliveClient, TransportError
from bench.printer_server import PrinterServer
from bench.setup import PASSWORD
from bench.stats import Series

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_PRINT_JOB = re.compile(r"/kiosk/print/(\d+)")
_TICKET_NUMBER = re.compile(r"([А-ЯЁ]-\d{3})")


def gist(html: str) -> str:
    """The visible message of an error fragment, for the report."""
    text = re.sub(r"<[^>]+>", " ", html)
    return " ".join(text.split())[:160]


def _csrf(html: str) -> str:
    match = _CSRF_HEADER.search(html) or _CSRF_INPUT.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


class StaffClient:
    """A logged-in staff browser, on one kept-alive connection (bench/keepalive.py)."""

    def __init__(self, base: str, login: str) -> None:
        self.base, self.login = base, login
        self.http = KeepAliveClient(base)
        page = self.http.get("/login")
        response = self.http.post(
            "/login",
            {
                "login": self.login,
                "password": PASSWORD,
                "csrf_token": _csrf(page.text),
                "next": "/staff/",
            },
        )
        if response.status_code not in (303, 204):
            raise RuntimeError(f"login {self.login} failed: {response.status_code}")
        self.csrf = _csrf(self.http.get("/login").text)

    def get(self, path: str, **params: object) -> Answer:
        return self.http.get(path, params, {"HX-Request": "true"})

    def post(self, path: str, data: dict[str, object] | None = None) -> Answer:
        return self.http.post(path, data, {"HX-Request": "true", "X-CSRF-Token": self.csrf})


class DeviceClient:
    """A paired device (a kiosk), on one kept-alive connection."""

    def __init__(self, base: str, token: str, home: str) -> None:
        self.base, self.token, self.home = base, token, home
        self.http = KeepAliveClient(base, cookies={"priyom_device": token})
        page = self.http.get(home)
        page.raise_for_status()
        self.csrf = _csrf(page.text)

    def post(self, path: str, data: dict[str, object] | None = None) -> Answer:
        return self.http.post(path, data, {"HX-Request": "true", "X-CSRF-Token": self.csrf})


class DisplayFleet:
    """Hallway displays holding their push streams, on one loop in a process of their own.

    Each does what the page does with an event: reads it and has what it draws. The
    moment a call's number is drawable on a display is when an event arrived there
    with the line (ticket number, room, route from its spot); an event without it
    would need a board fetch, and the display would not count as ready.

    Real displays are machines of their own: the fleet is not a thread of the
    benchmark's process, where it would queue for the interpreter lock behind the
    staff clients and lengthen every figure. Its own lag (how late its loop wakes
    from a 10 ms sleep) is measured and printed beside the figures: time.monotonic()
    is the machine's clock, the same in both processes.
    """

    def __init__(self, base: str, tokens: list[str], path: str = "/signage/stream") -> None:
        url = urlsplit(base)
        self.tokens = tokens
        self._errors_here: list[str] = []
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_fleet_process,
            args=(child, url.hostname, url.port or 80, path, tokens),
            daemon=True,
        )
        self._lock = threading.Lock()

    def start(self) -> None:
        self._process.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def _ask(self, *request: object) -> Any:
        with self._lock:
            self._pipe.send(request)
            return self._pipe.recv()

    @property
    def open(self) -> int:
        return int(self._ask("open"))

    @property
    def errors(self) -> int:
        return int(self._ask("errors")[0]) + len(self._errors_here)

    @property
    def error_samples(self) -> list[str]:
        return [*self._ask("errors")[1], *self._errors_here][:5]

    def error(self, why: str) -> None:
        self._errors_here.append(why)

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open == len(self.tokens):
                return True
            time.sleep(0.1)
        return False

    def not_drawable(self, ticket_ids: set[int]) -> set[int]:
        """The tickets not yet drawable on every display of the fleet."""
        return set(self._ask("not_drawable", ticket_ids))

    def arrivals(self, ticket_id: int) -> list[float | None]:
        """When the ticket's line arrived at each display (None: never)."""
        return list(self._ask("arrivals", ticket_id))

    def lag(self, reset: bool = False) -> list[float]:
        """The loop's lag samples (ms) since the last reset."""
        return list(self._ask("lag", reset))

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self._ask("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _fleet_process(pipe: Connection, host: str, port: int, path: str, tokens: list[str]) -> None:
    _Fleet(host, port, path, tokens).serve(pipe)


class _Fleet:
    """The fleet's side, in its own process: one selector loop over the displays' sockets.

    A plain loop, not asyncio: a call reaches every display at once, and asyncio's
    transports and callbacks cost the fleet three times the server's own work per
    event, which would count as the server's in the figures.
    """

    TICK = 0.01  # the lag probe: the loop should wake this often

    def __init__(self, host: str, port: int, path: str, tokens: list[str]) -> None:
        self.address = (host, port)
        self.requests = [
            (
                f"GET {path} HTTP/1.0\r\nHost: {host}\r\n"
                f"Cookie: priyom_device={token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
            for token in tokens
        ]
        # Per display: ticket id -> when its line arrived (time.monotonic()).
        self.drawable: list[dict[int, float]] = [{} for _ in tokens]
        self.drawable_on: Counter[int] = Counter()  # ticket id -> displays that have it
        self.opened: set[int] = set()
        self.errors = 0
        self.error_samples: list[str] = []
        self.lags: list[float] = []
        self.selector = selectors.DefaultSelector()
        self.retry: list[tuple[float, int]] = []  # (when, display) to reconnect

    def error(self, why: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(why)

    def serve(self, pipe: Connection) -> None:
        for index in range(len(self.requests)):
            self.connect(index)
        self.selector.register(pipe, selectors.EVENT_READ, None)
        tick = time.monotonic() + self.TICK
        while True:
            for key, _mask in self.selector.select(max(0.0, tick - time.monotonic())):
                if key.data is None:
                    request = pipe.recv()
                    pipe.send(self.answer(request))
                    if request[0] == "stop":
                        return
                else:
                    key.data.readable()
            now = time.monotonic()
            if now >= tick:
                self.lags.append((now - tick) * 1000)
                tick = now + self.TICK
                while self.retry and self.retry[0][0] <= now:
                    self.connect(self.retry.pop(0)[1])

    def connect(self, index: int) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(self.requests[index])
            sock.setblocking(False)
        except OSError as exc:
            self.closed(index, f"display {index}: {exc}")
            return
        self.selector.register(sock, selectors.EVENT_READ, _DisplayStream(self, index, sock))

    def closed(self, index: int, why: str) -> None:
        self.error(why)
        self.retry.append((time.monotonic() + 0.5, index))

    def answer(self, request: tuple[Any, ...]) -> object:
        what = request[0]
        if what == "open":
            return len(self.opened)
        if what == "errors":
            return self.errors, self.error_samples
        if what == "not_drawable":
            return {t for t in request[1] if self.drawable_on[t] < len(self.drawable)}
        if what == "arrivals":
            return [seen.get(request[1]) for seen in self.drawable]
        if what == "lag":
            lags = self.lags
            if request[1]:
                self.lags = []
            return lags
        return None


class _DisplayStream:
    """One display's stream: reads what arrives, notes when a call's line is there to draw."""

    def __init__(self, fleet: _Fleet, index: int, sock: socket.socket) -> None:
        self.fleet, self.index, self.sock = fleet, index, sock
        self.seen = fleet.drawable[index]
        self.buffer = b""
        self.head = True

    def readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            data, why = b"", f"display {self.index}: {exc}"
        else:
            why = f"display {self.index}: stream closed"
        arrived = time.monotonic()
        if not data:
            self.fleet.selector.unregister(self.sock)
            self.sock.close()
            self.fleet.closed(self.index, why)
            return
        self.buffer += data
        if self.head and not self.read_head():
            return
        *blocks, self.buffer = self.buffer.split(b"\n\n")
        for block in blocks:
            if b'"line"' in block:
                self.drawn(block, arrived)

    def read_head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = self.buffer.split(b"\r\n", 1)[0]
        if b" 200 " not in status:
            self.fleet.error(f"display {self.index}: stream answered {status!r}")
            self.buffer = b""
            return False
        self.head = False
        self.fleet.opened.add(self.index)
        self.buffer = self.buffer[end + 4 :]
        return True

    def drawn(self, block: bytes, arrived: float) -> None:
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                drawn = json.loads(line[5:]).get("line")
                if not (drawn and drawn.get("ticket") and drawn.get("room") and drawn.get("route")):
                    continue
                ticket = int(drawn["ticket_id"])
                if ticket not in self.seen:
                    self.seen[ticket] = arrived
                    self.fleet.drawable_on[ticket] += 1


def run_parallel(workers: int, jobs: list[object], fn: object) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(fn, jobs))  # type: ignore[arg-type]


def checkins(
    base: str,
    kiosk_tokens: list[str],
    codes: list[str],
    printer: PrinterServer,
    series: Series,
    concurrency: int,
    interval: float = 0.0,
) -> list[str]:
    """Check in each code on a kiosk and print its ticket; time request -> bytes at the printer.

    `interval`: seconds between two visitors at one kiosk (a visitor needs time to type
    or scan); 0 means back to back, to measure capacity.
    """
    kiosks = [DeviceClient(base, token, "/kiosk/") for token in kiosk_tokens[:concurrency]]
    lock = threading.Lock()
    numbers: list[str] = []
    queue = list(codes)

    began = time.monotonic()

    def worker(kiosk: DeviceClient) -> None:
        # Visitors arrive independently: the kiosks' rhythms are spread over the interval.
        next_visitor = began + kiosks.index(kiosk) * interval / len(kiosks)
        while True:
            with lock:
                if not queue:
                    return
                code = queue.pop()
            time.sleep(max(0.0, next_visitor - time.monotonic()))
            next_visitor = time.monotonic() + interval
            started = time.monotonic()
            try:
                response = kiosk.post("/kiosk/checkin/code", {"code": code})
                job = _PRINT_JOB.search(response.text)
                number = _TICKET_NUMBER.search(response.text)
                if response.status_code != 200 or not job or not number:
                    series.error(f"check-in {response.status_code}: {gist(response.text)}")
                    continue
                printed = kiosk.post(f"/kiosk/print/{job.group(1)}")
                landed = printer.find(number.group(1).encode("cp866"))
                if printed.status_code != 200 or landed is None:
                    series.error(f"print {printed.status_code}: {gist(printed.text)}")
                    continue
                with lock:
                    series.add((landed.received_at - started) * 1000)
                    numbers.append(number.group(1))
            except TransportError as exc:
                series.error(f"check-in: {exc}")

    series.started = time.monotonic()
    run_parallel(len(kiosks), kiosks, worker)  # type: ignore[arg-type]
    series.finished = time.monotonic()
    return numbers
