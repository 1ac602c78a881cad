"""The load generator: staff, kiosks and push listeners as real HTTP clients on loopback.

Bounded in count and time: every loop has a fixed number of requests and every
request a timeout; listeners stop when the run ends.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from bench.printer_server import PrinterServer
from bench.setup import PASSWORD
from bench.stats import Series

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_PRINT_JOB = re.compile(r"/kiosk/print/(\d+)")
_TICKET_NUMBER = re.compile(r"([А-ЯЁ]-\d{3})")
TIMEOUT = httpx.Timeout(30.0)


def gist(html: str) -> str:
    """The visible message of an error fragment, for the report."""
    text = re.sub(r"<[^>]+>", " ", html)
    return " ".join(text.split())[:160]


def _csrf(html: str) -> str:
    match = _CSRF_HEADER.search(html) or _CSRF_INPUT.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


@dataclass
class StaffClient:
    """A logged-in staff browser."""

    base: str
    login: str
    http: httpx.Client = field(init=False)
    csrf: str = ""

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=TIMEOUT)
        page = self.http.get("/login")
        response = self.http.post(
            "/login",
            data={
                "login": self.login,
                "password": PASSWORD,
                "csrf_token": _csrf(page.text),
                "next": "/staff/",
            },
        )
        if response.status_code not in (303, 204):
            raise RuntimeError(f"login {self.login} failed: {response.status_code}")
        self.csrf = _csrf(self.http.get("/login").text)

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.http.get(path, params=params, headers={"HX-Request": "true"})

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.http.post(
            path, data=data or {}, headers={"HX-Request": "true", "X-CSRF-Token": self.csrf}
        )


@dataclass
class DeviceClient:
    base: str
    token: str
    home: str
    http: httpx.Client = field(init=False)
    csrf: str = ""

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.base, timeout=TIMEOUT, cookies={"priyom_device": self.token}
        )
        page = self.http.get(self.home)
        page.raise_for_status()
        self.csrf = _csrf(page.text)

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.http.post(
            path, data=data or {}, headers={"HX-Request": "true", "X-CSRF-Token": self.csrf}
        )


class Listener(threading.Thread):
    """One hallway display or tablet holding its push stream open; records arrival times."""

    def __init__(self, base: str, token: str, path: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.path = base, token, path
        self.events: dict[tuple[str, int], float] = {}
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.errors = 0

    def run(self) -> None:
        with httpx.Client(
            base_url=self.base,
            cookies={"priyom_device": self.token},
            timeout=httpx.Timeout(5.0, read=None),
        ) as http:
            while not self.stop.is_set():
                try:
                    with http.stream(
                        "GET", self.path, headers={"Accept": "text/event-stream"}
                    ) as stream:
                        self.connected.set()
                        for line in stream.iter_lines():
                            if self.stop.is_set():
                                return
                            if line.startswith("data:"):
                                payload = json.loads(line[5:])
                                ticket = payload.get("ticket_id")
                                if ticket is not None:
                                    self.events.setdefault(
                                        (payload.get("kind", ""), int(ticket)), time.monotonic()
                                    )
                except httpx.HTTPError:
                    if not self.stop.is_set():
                        self.errors += 1
                        time.sleep(0.5)


class DisplayFleet(threading.Thread):
    """Hallway displays holding their push streams, on one event loop (a thousand fit).

    Each does what the page does with an event: reads it and has what it draws. The
    moment a call's number is drawable on a display is when an event arrived there
    with the line (ticket number, room, route from its spot); an event without it
    would need a board fetch, and the display would not count as ready.
    """

    def __init__(self, base: str, tokens: list[str], path: str = "/signage/stream") -> None:
        super().__init__(daemon=True)
        url = httpx.URL(base)
        self.host, self.port, self.path = url.host, url.port or 80, path
        self.tokens = tokens
        # Per display: ticket id -> when its line arrived (time.monotonic()).
        self.drawable: list[dict[int, float]] = [{} for _ in tokens]
        self.open = 0
        self.connected = threading.Event()
        self.errors = 0
        self.error_samples: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(10)

    def ready_for(self, ticket_id: int) -> bool:
        return all(ticket_id in seen for seen in self.drawable)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks = [asyncio.create_task(self._display(i)) for i in range(len(self.tokens))]
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _error(self, why: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(why)

    async def _display(self, index: int) -> None:
        seen = self.drawable[index]
        request = (
            f"GET {self.path} HTTP/1.0\r\nHost: {self.host}\r\n"
            f"Cookie: priyom_device={self.tokens[index]}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        counted = False
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
                writer.write(request)
                status = await reader.readline()
                if b" 200 " not in status:
                    raise OSError(f"stream answered {status!r}")
                while (await reader.readline()).strip():
                    pass  # the headers
                if not counted:
                    counted = True
                    self.open += 1
                    if self.open == len(self.tokens):
                        self.connected.set()
                while line := await reader.readline():
                    if not line.startswith(b"data:") or b'"line"' not in line:
                        continue
                    arrived = time.monotonic()
                    event = json.loads(line[5:])
                    drawn = event.get("line")
                    if drawn and drawn.get("ticket") and drawn.get("room") and drawn.get("route"):
                        seen.setdefault(int(drawn["ticket_id"]), arrived)
                writer.close()
                raise OSError("stream closed")
            except asyncio.CancelledError:
                return
            except (OSError, ValueError) as exc:
                self._error(f"display {index}: {exc}")
                await asyncio.sleep(0.5)


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
            except httpx.HTTPError as exc:
                series.error(f"check-in: {type(exc).__name__}")

    series.started = time.monotonic()
    run_parallel(len(kiosks), kiosks, worker)  # type: ignore[arg-type]
    series.finished = time.monotonic()
    return numbers
