"""Two web servers and two schedulers on one PostgreSQL database (issue 11).

Server A and server B are real `priyom serve` processes on their own ports,
sharing one database created for this module. A call made on A reaches a
display's push stream on B (LISTEN/NOTIFY); a login, a device token, a rate
limit, a ticket counter and a print job made on one server hold on the other;
two `priyom scheduler` processes send each message once and hand over when
the working one is killed. The PostgreSQL restart test restarts the machine's
server for everyone, so it runs only when PRIYOM_TEST_PG_RESTART=1.

PostgreSQL only: `pytest tests/e2e/test_multi_server.py --db=postgres`.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, func, select

from tests.conftest import TEST_PASSWORD, Database, create_database
from tests.e2e.conftest import LiveServer
from tests.factories import make_booking, make_client, make_device, make_ticket, staff_by_login
from tests.factories import service_by_code as _service
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig
from visits.db import make_sessionmaker, write_transaction
from visits.models import (
    Booking,
    DeviceKind,
    MessageKind,
    OutgoingMessage,
    PrintJob,
    RateLimitHit,
    SchedulerLease,
    StaffSession,
    Ticket,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText
from visits.queries.slots import free_slots

pytestmark = pytest.mark.postgres

# The budget for a call to reach a display; the assertion allows for a busy test machine.
PUSH_BUDGET_S = 0.3
PUSH_LIMIT_S = 1.0
LEASE_SECONDS = 3
RESTART_CMD = os.environ.get(
    "PRIYOM_TEST_PG_RESTART_CMD",
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart",
)
_seqs = itertools.count()
# How long each "call next" request took on the calling server (the rest is the push path).
answered: list[float] = []
_CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def until(check: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        threading.Event().wait(step)


# --- Fixtures: two servers on one database ------------------------------------------------


@dataclass
class Cluster:
    db: Database
    a: LiveServer
    b: LiveServer
    tmp: Path
    calendar: WorkCalendar

    def session(self) -> Session:
        return make_sessionmaker(self.db.engine)()

    def booking_today(self, staff_login: str, service_code: str) -> Booking:
        """A booking of today's next free slot of this specialist (the live office never closes)."""
        with self.session() as session:
            service = _service(session, service_code)
            staff = staff_by_login(session, staff_login)
            slots = free_slots(
                session,
                self.calendar,
                service=service,
                staff_id=staff.id,
                now=utcnow() + timedelta(minutes=5),
                days=1,
            )
            if not slots or self.calendar.to_local(slots[0].starts_at).date() != (
                self.calendar.to_local(utcnow()).date()
            ):
                raise AssertionError("no free slot left in the e2e office's morning")
            return make_booking(
                session,
                self.calendar,
                client=make_client(session),
                service_code=service_code,
                staff_login=staff_login,
                starts_at=slots[0].starts_at,
                now=utcnow(),
            )


@pytest.fixture(scope="module")
def cluster(
    backend: str,
    database: Database,
    tmp_path_factory: pytest.TempPathFactory,
    office_config: OfficeConfig,
    open_calendar: WorkCalendar,
) -> Iterator[Cluster]:
    if backend != "postgres":
        pytest.skip("several servers share one PostgreSQL database: run with --db=postgres")
    tmp = tmp_path_factory.mktemp("multi")
    db = create_database(backend, tmp, office_config, template=database)
    servers = []
    for name in ("a", "b"):
        (tmp / name).mkdir()
        servers.append(LiveServer(db=db, tmp=tmp / name))
    try:
        for server in servers:
            server.start()
        yield Cluster(db=db, a=servers[0], b=servers[1], tmp=tmp, calendar=open_calendar)
    finally:
        for server in servers:
            server.stop()
        db.drop()


# --- HTTP clients: a staff browser, a device, a display's push stream ---------------------


def _csrf(response: httpx.Response) -> str:
    found = _CSRF.search(response.text)
    assert found, response.text[:500]
    return found.group(1)


class Browser:
    """One browser (its cookie jar) talking to either server, as behind a load balancer."""

    def __init__(self, cookies: httpx.Cookies | None = None) -> None:
        self.cookies = cookies or httpx.Cookies()
        self.csrf = ""

    def client(self, server: LiveServer) -> httpx.Client:
        return httpx.Client(base_url=server.url, cookies=self.cookies, timeout=10)

    def get(self, server: LiveServer, path: str) -> httpx.Response:
        with self.client(server) as client:
            response = client.get(path)
            self.cookies.update(client.cookies)
        if response.status_code == 200 and "X-CSRF-Token" in response.text:
            self.csrf = _csrf(response)
        return response

    def post(
        self, server: LiveServer, path: str, data: dict[str, str] | None = None
    ) -> httpx.Response:
        with self.client(server) as client:
            response = client.post(
                path, data=data or {}, headers={"HX-Request": "true", "X-CSRF-Token": self.csrf}
            )
            self.cookies.update(client.cookies)
        return response


def staff_login(server: LiveServer, login: str) -> Browser:
    browser = Browser()
    page = browser.get(server, "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    with browser.client(server) as client:
        response = client.post(
            "/login",
            data={"login": login, "password": TEST_PASSWORD, "csrf_token": token.group(1)},
        )
        browser.cookies.update(client.cookies)
    assert response.status_code == 303, response.text[:300]
    return browser


def device_browser(cluster: Cluster, kind: DeviceKind, **device: Any) -> tuple[Browser, int]:
    with cluster.session() as session:
        row, token = make_device(session, kind, **device)
    cookies = httpx.Cookies()
    cookies.set("priyom_device", token)
    assert row.id is not None
    return Browser(cookies), row.id


@dataclass
class Event:
    at: float
    id: int
    kind: str
    data: dict[str, Any]


@dataclass
class SseClient:
    """A display's push stream, reconnecting with Last-Event-ID as EventSource does."""

    server: LiveServer
    cookies: httpx.Cookies
    path: str = "/signage/stream"
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    connected: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    last_id: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SseClient:
        threading.Thread(target=self._run, name="sse-client", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = {"Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                with (
                    httpx.Client(
                        base_url=self.server.url,
                        cookies=self.cookies,
                        timeout=httpx.Timeout(5, read=40),
                    ) as client,
                    client.stream("GET", self.path, headers=headers) as response,
                ):
                    if response.status_code != 200:
                        raise httpx.HTTPStatusError("stream", request=None, response=response)  # type: ignore[arg-type]
                    self._read(response)
            except httpx.HTTPError:
                pass
            self.connected.clear()
            self._stop.wait(0.3)  # the browser's `retry:` pause, shortened

    def _read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            if line.startswith(": connected"):
                self.connections += 1
                self.connected.set()
            elif line == "" and "data" in fields:
                self.last_id = fields.get("id", self.last_id)
                self.events.put(
                    Event(
                        at=time.monotonic(),
                        id=int(fields.get("id", "0")),
                        kind=fields.get("event", "message"),
                        data=json.loads(fields["data"]),
                    )
                )
                fields = {}
            elif ":" in line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    def wait_for(self, kind: str, ticket_id: int, timeout: float = 5.0) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{kind} for ticket {ticket_id} did not arrive in {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.kind == kind and event.data.get("ticket_id") == ticket_id:
                return event


@pytest.fixture
def display_on_b(cluster: Cluster) -> Iterator[tuple[SseClient, Browser]]:
    browser, _device_id = device_browser(cluster, DeviceKind.DISPLAY)
    stream = SseClient(cluster.b, browser.cookies).start()
    assert stream.connected.wait(10), cluster.b.log()[-2000:]
    yield stream, browser
    stream.stop()


def call_on(cluster: Cluster, server: LiveServer, login: str, service: str) -> tuple[int, float]:
    """Check a visitor in (written to the DB, as the kiosk does) and press "call next" on `server`."""
    booking = cluster.booking_today(login, service)
    with cluster.session() as session:
        # Numbers from 500 up: the kiosk's counter starts at 1 and must not meet them.
        ticket = make_ticket(session, booking, seq=500 + next(_seqs))
        ticket_id = ticket.id
    assert ticket_id is not None
    specialist = staff_login(server, login)
    assert specialist.get(server, "/staff/today").status_code == 200
    started = time.monotonic()
    response = specialist.post(server, "/staff/today/call-next")
    assert response.status_code == 200, response.text[:500]
    answered.append(time.monotonic() - started)
    return ticket_id, started


def _record_latency(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], name: str, seconds: float
) -> None:
    request.node.user_properties.append((name, round(seconds * 1000, 1)))
    with capsys.disabled():
        print(  # noqa: T201
            f"\n{name}: {seconds * 1000:.1f} ms (budget {PUSH_BUDGET_S * 1000:.0f} ms;"
            f" the call request itself took {answered[-1] * 1000:.1f} ms)"
        )


# --- Push across servers --------------------------------------------------------------------


def test_call_on_a_reaches_display_on_b(
    cluster: Cluster,
    display_on_b: tuple[SseClient, Browser],
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream, display = display_on_b
    # The same device cookie opens the board on either server.
    assert display.get(cluster.a, "/signage/").status_code == 200
    assert display.get(cluster.b, "/signage/").status_code == 200
    ticket_id, started = call_on(cluster, cluster.a, "ivanova", "land-lease")
    event = stream.wait_for("ticket.called", ticket_id, timeout=5)
    latency = event.at - started
    _record_latency(request, capsys, "push latency A->B", latency)
    assert latency < PUSH_LIMIT_S
    assert stream.connections == 1
    assert "push: listening on PostgreSQL channel" in cluster.b.log()
    # A display that lost the call and reconnects to the other server (Last-Event-ID) gets it.
    replay = SseClient(cluster.a, display.cookies, last_id=str(event.id - 1)).start()
    try:
        assert replay.wait_for("ticket.called", ticket_id, timeout=5).id == event.id
    finally:
        replay.stop()


# --- No server-local state ------------------------------------------------------------------


def test_login_device_ratelimit_counters_and_print_jobs_are_shared(cluster: Cluster) -> None:
    # A staff login made on A is a StaffSession row: B knows it, and a logout on B ends it on A.
    staff = staff_login(cluster.a, "operator")
    on_b = staff.get(cluster.b, "/staff/desk")
    assert on_b.status_code == 200, on_b.text[:300]
    with cluster.session() as session:
        open_sessions = session.exec(
            select(func.count())
            .select_from(StaffSession)
            .where(col(StaffSession.ended_at).is_(None))
        ).one()
    assert open_sessions >= 1
    assert staff.post(cluster.b, "/logout").status_code in (204, 303)
    after_logout = staff.get(cluster.a, "/staff/desk")
    assert after_logout.status_code == 303
    assert after_logout.headers["location"].startswith("/login")

    # A kiosk's device token works on both; its phone look-ups count together (the DB's counter).
    kiosk, kiosk_id = device_browser(
        cluster, DeviceKind.KIOSK, printer_uri="virtual://multi-server"
    )
    assert kiosk.get(cluster.a, "/kiosk/").status_code == 200
    assert kiosk.get(cluster.b, "/kiosk/").status_code == 200
    from visits.services.checkin import PHONE_LOOKUP_LIMIT, PHONE_LOOKUP_REFUSED

    for n in range(PHONE_LOOKUP_LIMIT):
        server = cluster.a if n % 2 else cluster.b
        answer = kiosk.post(server, "/kiosk/checkin/phone", {"phone": "+79130000000"})
        assert answer.status_code == 200 and PHONE_LOOKUP_REFUSED not in answer.text
    refused = kiosk.post(cluster.a, "/kiosk/checkin/phone", {"phone": "+79130000000"})
    assert PHONE_LOOKUP_REFUSED in refused.text
    with cluster.session() as session:
        hits = session.exec(
            select(RateLimitHit.count).where(RateLimitHit.key == f"kiosk-phone:{kiosk_id}")
        ).one()
    assert hits == PHONE_LOOKUP_LIMIT + 1

    # Check-ins on A and on B draw from one ticket counter; a print job made on A is printed
    # by B, once.
    first = cluster.booking_today("kuznetsova", "payments")
    second = cluster.booking_today("fedorov", "payments")
    ticket_a = kiosk.post(cluster.a, "/kiosk/checkin/code", {"code": first.code})
    ticket_b = kiosk.post(cluster.b, "/kiosk/checkin/code", {"code": second.code})
    with cluster.session() as session:
        on_a = session.exec(select(Ticket).where(Ticket.booking_id == first.id)).one()
        from_b = session.exec(select(Ticket).where(Ticket.booking_id == second.id)).one()
        assert on_a.number in ticket_a.text
        assert from_b.number in ticket_b.text
        assert on_a.letter == from_b.letter
        assert from_b.seq == on_a.seq + 1
        job = session.exec(select(PrintJob).where(PrintJob.ticket_id == on_a.id)).one()
    printed = kiosk.post(cluster.b, f"/kiosk/print/{job.id}")
    assert printed.status_code == 200
    again = kiosk.post(cluster.a, f"/kiosk/print/{job.id}")
    assert again.status_code == 200
    with cluster.session() as session:
        done = session.get(PrintJob, job.id)
        assert done is not None
        assert done.status == "done" and done.attempts == 1, (done.status, done.attempts)
        assert done.claimed_by, done
        # The claim names the gunicorn worker that printed: a child of server B.
        assert _parent_pid(int(done.claimed_by.split(":")[1])) == server_pid(cluster.b)


def server_pid(server: LiveServer) -> int:
    assert server.proc is not None
    return server.proc.pid


def _parent_pid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
    assert found
    return int(found.group(1))


# --- One scheduler --------------------------------------------------------------------------


@dataclass
class Scheduler:
    name: str
    log: Path
    proc: subprocess.Popen[bytes]

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def works(self) -> bool:
        return re.search(r"scheduler: \S+ runs the jobs", self.text()) is not None

    def sent_ids(self) -> list[int]:
        return [int(m) for m in re.findall(r"message (\d+) by \w+ to ", self.text())]


def start_scheduler(cluster: Cluster, name: str) -> Scheduler:
    log = cluster.tmp / f"scheduler-{name}.log"
    env = cluster.a.env()
    env["PRIYOM_SCHEDULER_LEASE_SECONDS"] = str(LEASE_SECONDS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "visits.web.cli", "scheduler"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return Scheduler(name=name, log=log, proc=proc)


def queue_messages(cluster: Cluster, n: int) -> list[int]:
    ids: list[int] = []
    with cluster.session() as session:
        client = make_client(session, channel="email", email="multi@example.ru")
        for i in range(n):
            with write_transaction(session):
                rows = message_queue(
                    session,
                    client=client,
                    kind=MessageKind.FINAL,
                    text=MessageText(subject=f"Проверка {i}", body="Текст"),
                    due_at=utcnow() - timedelta(seconds=1),
                )
            ids.extend(row.id for row in rows if row.id is not None)
    return ids


def lease_pid(cluster: Cluster) -> int | None:
    with cluster.session() as session:
        lease = session.get(SchedulerLease, "scheduler")
        if lease is None or lease.expires_at < utcnow():
            return None
        return int(lease.holder.split(":")[1])


def sent_by(cluster: Cluster, ids: list[int]) -> dict[int, str]:
    with cluster.session() as session:
        rows = session.exec(select(OutgoingMessage).where(col(OutgoingMessage.id).in_(ids))).all()
        return {row.id: row.claimed_by or "" for row in rows if row.status == "sent" and row.id}


def sent_in_db(cluster: Cluster) -> set[int]:
    with cluster.session() as session:
        ids = session.exec(select(OutgoingMessage.id).where(OutgoingMessage.status == "sent")).all()
    return {i for i in ids if i is not None}


def test_two_schedulers_one_works_and_the_other_takes_over(
    cluster: Cluster, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    first_batch = queue_messages(cluster, 6)
    one, two = start_scheduler(cluster, "one"), start_scheduler(cluster, "two")
    schedulers = {one.proc.pid: one, two.proc.pid: two}
    try:
        active_pid = until(lambda: lease_pid(cluster), 20, "a scheduler takes the lease")
        active = schedulers[active_pid]
        standby = two if active is one else one
        until(active.works, 10, "the holder logs that it works")
        until(lambda: "waits" in standby.text(), 10, "the other one logs that it waits")
        until(lambda: len(sent_by(cluster, first_batch)) == 6, 20, "the first batch is sent")
        # (The bookings of the other tests queued confirmations too: they go the same way.)
        assert set(first_batch) <= set(active.sent_ids())
        assert standby.sent_ids() == []
        assert not standby.works()

        # Kill it after its send run (the next one is 30 s later; a message cut mid-send is
        # the stale-claim case of tests/unit/test_jobs.py): every message it logged is sent.
        until(
            lambda: (
                "outbox: sent=" in active.text() and set(active.sent_ids()) == sent_in_db(cluster)
            ),
            10,
            "the first scheduler's send run is over and committed",
        )
        # The working scheduler dies without a word; the other one takes the lease over.
        killed_at = time.monotonic()
        active.proc.send_signal(signal.SIGKILL)
        active.proc.wait(10)
        second_batch = queue_messages(cluster, 4)
        until(lambda: lease_pid(cluster) == standby.proc.pid, 60, "the standby takes over")
        handover = time.monotonic() - killed_at
        until(lambda: len(sent_by(cluster, second_batch)) == 4, 20, "the second batch is sent")
        request.node.user_properties.append(("scheduler handover s", round(handover, 2)))
        with capsys.disabled():
            print(f"\nscheduler handover after SIGKILL: {handover:.1f} s (lease {LEASE_SECONDS} s)")  # noqa: T201
        assert handover < 60
        assert set(second_batch) <= set(standby.sent_ids())
        # Each message went out once, over both processes' logs.
        everything = active.sent_ids() + standby.sent_ids()
        assert len(everything) == len(set(everything))
        assert set(first_batch + second_batch) <= set(everything)
        logged = lambda: set(active.sent_ids() + standby.sent_ids())  # noqa: E731
        try:
            until(lambda: logged() == sent_in_db(cluster), 10, "every logged send is a sent row")
        except AssertionError:
            with cluster.session() as session:
                rows = session.exec(select(OutgoingMessage)).all()
                states = {r.id: (r.status, r.claimed_by, r.error[:80]) for r in rows}
            raise AssertionError(
                f"logged {sorted(logged())} sent {sorted(sent_in_db(cluster))} rows {states}"
            ) from None
        # /readyz on either web server sees the scheduler alive.
        for server in (cluster.a, cluster.b):
            ready = httpx.get(f"{server.url}/readyz", timeout=5).json()
            assert ready["scheduler"] == "ok", ready
    finally:
        for scheduler in (one, two):
            if scheduler.proc.poll() is None:
                scheduler.proc.send_signal(signal.SIGTERM)
                try:
                    scheduler.proc.wait(10)
                except subprocess.TimeoutExpired:
                    scheduler.proc.kill()
                    scheduler.proc.wait()


# --- A PostgreSQL restart under load ------------------------------------------------------


@dataclass
class Load:
    """Requests to both servers in a loop, recording the outcome of each."""

    cluster: Cluster
    browser: Browser
    results: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Load:
        threading.Thread(target=self._run, name="load", daemon=True).start()
        return self

    def _run(self) -> None:
        servers = [self.cluster.a, self.cluster.b]
        n = 0
        while not self._stop.is_set():
            server = servers[n % 2]
            n += 1
            try:
                ok = self.browser.get(server, "/staff/today").status_code == 200
            except httpx.HTTPError:
                ok = False
            self.results.append((time.monotonic(), ok))
            self._stop.wait(0.02)

    def ok_since(self, moment: float) -> int:
        return sum(1 for at, ok in self.results if at > moment and ok)

    def stop(self) -> None:
        self._stop.set()


@pytest.mark.skipif(
    os.environ.get("PRIYOM_TEST_PG_RESTART") != "1",
    reason="restarts the machine's PostgreSQL for everyone: set PRIYOM_TEST_PG_RESTART=1",
)
def test_postgresql_restart_under_load(
    cluster: Cluster,
    display_on_b: tuple[SseClient, Browser],
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream, _display = display_on_b
    load = Load(cluster, staff_login(cluster.b, "smirnov")).start()
    try:
        until(lambda: load.ok_since(0) >= 5, 10, "the load runs")
        pids = (server_pid(cluster.a), server_pid(cluster.b))
        listens_before = cluster.b.log().count("push: listening on PostgreSQL channel")
        subprocess.run(RESTART_CMD, shell=True, check=True, timeout=60)
        restarted = time.monotonic()
        # The servers were not restarted: their pools (pre-ping) and listeners recover.
        assert (server_pid(cluster.a), server_pid(cluster.b)) == pids
        assert cluster.a.proc is not None and cluster.a.proc.poll() is None
        assert cluster.b.proc is not None and cluster.b.proc.poll() is None
        until(lambda: load.ok_since(restarted) >= 10, 30, "requests succeed again on A and B")
        until(
            lambda: cluster.b.log().count("push: listening on PostgreSQL channel") > listens_before,
            30,
            "B's LISTEN thread reconnects",
        )
        metrics = httpx.get(f"{cluster.b.url}/metrics", timeout=5).text
        assert "priyom_push_listener_up 1" in metrics
        assert re.search(r"priyom_push_listener_reconnects_total [1-9]", metrics), metrics
        for server in (cluster.a, cluster.b):
            until(
                lambda s=server: httpx.get(f"{s.url}/readyz", timeout=5).status_code != 500,  # type: ignore[misc]
                20,
                "readyz answers",
            )
        # A new call on A still reaches the display on B, through a new or surviving stream.
        until(lambda: stream.connected.is_set(), 30, "the display's stream is connected")
        ticket_id, started = call_on(cluster, cluster.a, "smirnov", "land-lease")
        event = stream.wait_for("ticket.called", ticket_id, timeout=5)
        latency = event.at - started
        _record_latency(request, capsys, "push latency A->B after the restart", latency)
        with capsys.disabled():
            print(f"display stream connections over the restart: {stream.connections}")  # noqa: T201
        assert latency < PUSH_LIMIT_S
    finally:
        load.stop()
