"""Replay a busy day of a large office against the real server and compare with the budgets.

    python -m bench [--db sqlite] [--db postgres] [--bookings 3000] [--growth/--no-growth]

Prints a table per database and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from bench.keepalive import TransportError
from bench.load import DisplayFleet, StaffClient, checkins, gist, run_parallel
from bench.office import large_office
from bench.printer_server import PrinterServer
from bench.setup import Server, create_database, load_bench_config, pss_mb, rss_mb, seed_day
from bench.stats import Budget, Series, percentile
from visits.calendar import WorkCalendar, utcnow
from visits.db import make_sessionmaker
from visits.models import Booking, PushEvent, Service, SlotHold, Staff, Ticket, TicketStatus
from visits.queries.slots import free_slots, slot_grid
from visits.queries.today import today_board

DRAWABLE = "call -> number drawable on all 100 displays"
UNPACED_CHECKINS = "check-ins unpaced, 10 kiosks"
UNPACED_CALLS = "call next unpaced, 20 specialists"
DRAWABLE_1000 = "call -> number drawable on all 1,000 displays"
BUDGETS = [
    Budget("kiosk check-in -> ticket bytes at the printer", "p95", 100, "ms"),
    Budget("check-in, one kiosk at a time (p50)", "p50", 8, "ms"),
    Budget("check-ins unpaced, 10 kiosks", "p95", 100, "ms"),
    Budget(
        "check-ins unpaced, 10 kiosks: throughput",
        "value",
        250,
        "check-ins/s",
        higher_is_better=True,
    ),
    Budget("call next unpaced, 20 specialists", "p95", 100, "ms"),
    Budget(
        "call next unpaced, 20 specialists: throughput",
        "value",
        200,
        "calls/s",
        higher_is_better=True,
    ),
    Budget(DRAWABLE, "p95", 100, "ms"),
    Budget(DRAWABLE_1000, "p95", 100, "ms"),
    Budget("free-slot search (60 specialists, 30 working days)", "p95", 50, "ms"),
    Budget("booking confirm", "p95", 100, "ms"),
    Budget("call card step, 10 operators at once", "p95", 100, "ms"),
    Budget("duplicate ticket numbers", "value", 1, "count"),
    Budget("tickets called twice", "value", 1, "count"),
    Budget("server memory idle (PSS, all processes)", "value", 120, "MiB"),
    Budget("memory added by 1,000 displays", "value", 50, "MiB"),
    Budget("server resident memory at peak, per process", "value", 200, "MB"),
    Budget("errors", "value", 1, "count"),
]
# Displays in the growth run (the first 100 are those of the main run).
GROWTH_DISPLAYS = 1000
RESULTS = Path(__file__).with_name("results")
# Seconds between two "call next" presses across the office during the replay: ten calls a
# second, about 150 times a real office's rate (60 specialists, a visitor each 15 minutes).
CALL_INTERVAL = 0.1
# Seconds between two requests of one phone operator (three operators on the line at speed).
OPERATOR_INTERVAL = 0.5
# Seconds between two steps of one consultation-line operator's call card (open, topic,
# close): a call every 3 s for each of the ten, some twenty times a real line's pace.
LINE_INTERVAL = 1.0
_CALL_URL = re.compile(r"/staff/line/calls/(\d+)")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MemorySampler(threading.Thread):
    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.stop = server, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            for pid in self.server.pids():
                self.peak = max(self.peak, rss_mb(pid))


def _server_mb(server: Server) -> float:
    """Memory of the server's master and workers together (PSS), in MiB."""
    return round(sum(pss_mb(pid) for pid in server.pids()), 1)


def _process_cpu(pid: int) -> float:
    """CPU seconds (user and system) a process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by the server's processes and by the load generator during a measure.

    The load generator (this process with its kiosks, staff clients and printer, and
    the displays' and tablets' loops) shares the machine's cores with the server: its
    own CPU per operation is printed beside the figures (not a budget), so a reader
    sees what it took from the server.
    """

    def __init__(self, server: Server, fleets: list[DisplayFleet]) -> None:
        self.server, self.fleets = server, fleets
        self.used: dict[str, list[float]] = {}  # name -> [server s, load generator s]

    def _now(self) -> tuple[float, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        loops = [pid for fleet in self.fleets if (pid := fleet.pid) is not None]
        load = own.ru_utime + own.ru_stime + sum(_process_cpu(p) for p in loops)
        return sum(_process_cpu(p) for p in self.server.pids()), load

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Count the CPU used while the block runs towards `name` (spans add up)."""
        server0, load0 = self._now()
        try:
            yield
        finally:
            server1, load1 = self._now()
            used = self.used.setdefault(name, [0.0, 0.0])
            used[0] += server1 - server0
            used[1] += load1 - load0

    def per_operation(self, counts: dict[str, int]) -> dict[str, dict[str, float]]:
        """Milliseconds of CPU per operation of each measure (`counts`: its operations)."""
        return {
            name: {
                "server_ms": round(server * 1000 / max(1, counts[name]), 2),
                "load_ms": round(load * 1000 / max(1, counts[name]), 2),
            }
            for name, (server, load) in self.used.items()
        }


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    config_path = large_office(tmp / "office.toml")
    config = load_bench_config(config_path)
    calendar = WorkCalendar(config, always_open=True)
    printer = PrinterServer()
    db = create_database(backend, tmp, config)
    print(f"[{backend}] seeding {args.bookings} bookings ...", flush=True)
    plan = seed_day(
        db,
        calendar,
        bookings=args.bookings,
        printer_port=printer.port,
        kiosks=20,
        displays=GROWTH_DISPLAYS if args.growth else args.displays,
        tablets=30,
    )
    server = Server(
        db=db,
        config_path=config_path,
        tmp=tmp,
        port=_free_port(),
        workers=args.sqlite_workers if backend == "sqlite" else 2,
        # Production's pool: push streams are handed to one thread and hold none of it.
        threads=256,
    )
    server.start()
    time.sleep(2)  # the workers settle (gc.freeze) before the idle figure
    idle_mb = _server_mb(server)
    memory = MemorySampler(server)
    memory.start()
    results: dict[str, Any] = {}
    errors = 0
    tablets: DisplayFleet | None = None
    fleets: list[DisplayFleet] = []
    try:
        displays = DisplayFleet(server.url, plan.display_tokens[: args.displays])
        fleets.append(displays)
        displays.start()
        # The rooms' tablets hold their streams on a loop of their own as the displays do.
        tablets = DisplayFleet(server.url, plan.tablet_tokens, "/kiosk/tablet/events")
        tablets.start()
        if not tablets.wait_connected(30):
            raise RuntimeError(f"{tablets.open} of {len(plan.tablet_tokens)} tablets connected")
        if not displays.wait_connected(60):
            raise RuntimeError(f"{displays.open} of {args.displays} displays connected")
        print(
            f"[{backend}] {args.displays} displays and {len(plan.tablet_tokens)} tablets connected "
            f"({len(plan.due_codes)} visits due); logging in staff ...",
            flush=True,
        )
        # The booking desk's operators as before; the consultation line's ten on their own.
        line = [StaffClient(server.url, lg) for lg in plan.operators if lg.startswith("line")]
        operators = [
            StaffClient(server.url, lg) for lg in plan.operators if not lg.startswith("line")
        ]
        specialists = [StaffClient(server.url, login) for login in plan.specialists]

        # Operators search and book while 10 kiosks check visitors in: one run, all at once.
        search, confirm = Series("slot search"), Series("booking confirm")
        checkin = Series("check-in")
        codes = list(plan.due_codes)
        paced, sequential, capacity = codes[:100], codes[100:200], codes[200:]
        slot_keys = _future_slot_keys(
            db, calendar, plan.services["consultation"], args.bookings_confirmed
        )
        operator_thread = threading.Thread(
            target=_operators, args=(operators, plan, slot_keys, search, confirm, args.searches)
        )
        operator_thread.start()
        cards = Series("call card step")
        line_thread = threading.Thread(target=_line_calls, args=(line, cards, args.calls))
        line_thread.start()
        # Ten kiosks, a visitor at each every 2 s: 5 check-ins a second, far above a real lobby.
        checkins(
            server.url, plan.kiosk_tokens, paced, printer, checkin, concurrency=10, interval=2.0
        )
        operator_thread.join()
        line_thread.join()

        # Capacity, not pace: one kiosk back to back, then ten kiosks back to back.
        print(
            f"[{backend}] check-ins: {len(sequential)} one at a time, {len(capacity)} on 10 kiosks",
            flush=True,
        )
        one_by_one = Series("sequential check-in")
        checkins(server.url, plan.kiosk_tokens, sequential, printer, one_by_one, concurrency=1)
        unpaced = Series("unpaced check-ins")
        cpu = CpuMeter(server, [*fleets, tablets])
        with cpu.span(UNPACED_CHECKINS):
            checkins(server.url, plan.kiosk_tokens, capacity, printer, unpaced, concurrency=10)

        print(f"[{backend}] calls to the displays ...", flush=True)
        drawable, call_requests = _call_round(specialists, [displays], db, rounds=2)
        lags = {DRAWABLE: _fleet_lag([displays])}
        calls_alone = {DRAWABLE: call_requests.summary()}
        _finish_all(specialists, db)
        print(f"[{backend}] calls unpaced, 20 specialists ...", flush=True)
        calls = _call_capacity(specialists, db, rounds=4, cpu=cpu)
        _finish_all(specialists, db)

        growth_mb: float | None = None
        drawable_1000 = Series("drawable at 1,000")
        if args.growth:
            before = _server_mb(server)
            more = DisplayFleet(server.url, plan.display_tokens[args.displays :])
            fleets.append(more)
            more.start()
            if not more.wait_connected(120):
                # Measured as it is: the displays not connected count as errors below.
                more.error(f"{more.open} of {len(more.tokens)} more displays connected in 120 s")
            time.sleep(2)
            added = _server_mb(server) - before
            growth_mb = round(added * GROWTH_DISPLAYS / len(more.tokens), 1)
            print(
                f"[{backend}] {GROWTH_DISPLAYS} displays connected (+{growth_mb} MiB)", flush=True
            )
            drawable_1000, call_requests = _call_round(specialists, fleets, db, rounds=1)
            lags[DRAWABLE_1000] = _fleet_lag(fleets)
            calls_alone[DRAWABLE_1000] = call_requests.summary()
            _finish_all(specialists, db)

        duplicates, called_twice = _integrity(db)
        series = (search, confirm, checkin, one_by_one, unpaced, drawable, calls, cards)
        errors = sum(s.errors for s in (*series, drawable_1000))
        results = {
            "kiosk check-in -> ticket bytes at the printer": checkin.summary(),
            "check-in, one kiosk at a time (p50)": one_by_one.summary(),
            "check-ins unpaced, 10 kiosks": unpaced.summary(),
            "check-ins unpaced, 10 kiosks: throughput": _rate(unpaced),
            "call next unpaced, 20 specialists": calls.summary(),
            "call next unpaced, 20 specialists: throughput": _rate(calls),
            DRAWABLE: drawable.summary(),
            "free-slot search (60 specialists, 30 working days)": search.summary(),
            "booking confirm": confirm.summary(),
            "call card step, 10 operators at once": cards.summary(),
            "duplicate ticket numbers": {"value": duplicates},
            "tickets called twice": {"value": called_twice},
            "server memory idle (PSS, all processes)": {"value": idle_mb},
        }
        results["display fleet's loop lag"] = lags
        results["the paced calls' own requests"] = calls_alone
        results["CPU per operation"] = cpu.per_operation(
            {UNPACED_CHECKINS: len(unpaced.samples), UNPACED_CALLS: len(calls.samples)}
        )
        if args.growth:
            results[DRAWABLE_1000] = drawable_1000.summary()
            results["memory added by 1,000 displays"] = {"value": growth_mb}
        errors += tablets.errors
        errors += sum(fleet.errors for fleet in fleets)
        for fleet in fleets:
            for why in fleet.error_samples:
                print(f"  display error: {why}")
    finally:
        if tablets is not None:
            tablets.stop()
        for fleet in fleets:
            fleet.stop()
        memory.stop.set()
        server.stop()
        printer.close()
        RESULTS.mkdir(exist_ok=True)
        log = tmp / "server.log"
        if log.exists():
            (RESULTS / f"server-{backend}.log").write_bytes(log.read_bytes()[-200_000:])
    results["server resident memory at peak, per process"] = {"value": round(memory.peak, 1)}
    results["errors"] = {"value": errors}
    if args.growth:
        results["growth"] = _growth(db, calendar)
    db.drop()
    return results


def _rate(series: Series) -> dict[str, Any]:
    """Throughput over the time the series' requests were running."""
    span = series.busy_seconds()
    return {
        "value": round(len(series.samples) / span, 1) if span else 0,
        "count": len(series.samples),
    }


def _integrity(db: Any) -> tuple[int, int]:
    """Ticket numbers given twice on a day, and tickets called ("call next") more than once."""
    with make_sessionmaker(db.engine)() as session:
        numbers = session.exec(select(Ticket.office_day, Ticket.number)).all()
        calls = session.exec(
            select(PushEvent.payload).where(PushEvent.kind == "ticket.called")
        ).all()
    duplicates = len(numbers) - len(set(numbers))
    called = [payload.get("ticket_id") for payload in calls]
    return duplicates, len(called) - len(set(called))


def _future_slot_keys(db: Any, calendar: WorkCalendar, service_id: int, count: int) -> list[str]:
    with make_sessionmaker(db.engine)() as session:
        service = session.get(Service, service_id)
        assert service is not None
        first = calendar.to_local(utcnow()).date() + timedelta(days=5)
        slots = free_slots(session, calendar, service=service, first_day=first, days=3)
    step = max(1, len(slots) // max(1, count))
    return [s.key for s in slots[::step][:count]]


def _operator_offset(i: int, operators: int) -> float:
    """When request i is due: each operator every OPERATOR_INTERVAL, the operators staggered."""
    return (i // operators) * OPERATOR_INTERVAL + (i % operators) * OPERATOR_INTERVAL / operators


def _operators(
    operators: list[StaffClient],
    plan: Any,
    slot_keys: list[str],
    search: Series,
    confirm: Series,
    searches: int,
) -> None:
    service = plan.services["consultation"]
    search.started = confirm.started = time.monotonic()

    began = time.monotonic()

    def one_search(i: int) -> None:
        op = operators[i % len(operators)]
        # Each operator searches every OPERATOR_INTERVAL (callers on the line, at speed).
        time.sleep(max(0.0, began + _operator_offset(i, len(operators)) - time.monotonic()))
        started = time.monotonic()
        response = op.get("/staff/desk/step", client=plan.client_ids[i], service=service)
        if response.status_code == 200 and "slot" in response.text:
            search.add((time.monotonic() - started) * 1000)
        else:
            search.error(f"slots {response.status_code}: {gist(response.text)}")

    def one_booking(i: int) -> None:
        op = operators[i % len(operators)]
        time.sleep(max(0.0, booked_from + _operator_offset(i, len(operators)) - time.monotonic()))
        started = time.monotonic()
        response = op.post(
            "/staff/desk/bookings",
            {
                "client": plan.client_ids[-1 - i],
                "service": service,
                "slot": slot_keys[i],
                "reminders": "none",
                "submit_key": f"bench-{i}-{time.time_ns()}",
            },
        )
        if response.status_code == 200 and "Код записи" in response.text:
            confirm.add((time.monotonic() - started) * 1000)
        else:
            confirm.error(f"booking {response.status_code}: {gist(response.text)}")

    run_parallel(len(operators), list(range(searches)), one_search)
    booked_from = time.monotonic()
    run_parallel(len(operators), list(range(len(slot_keys))), one_booking)
    search.finished = confirm.finished = time.monotonic()


def _line_calls(line: list[StaffClient], series: Series, calls: int) -> None:
    """Ten operators take calls at once: open a card, set the topic, close it answered (§18-22).

    Each step is timed on its own; an operator's steps come LINE_INTERVAL apart, the
    operators staggered, so the ten cards are open at the same time.
    """
    series.started = time.monotonic()
    began = time.monotonic()

    def operator(op: StaffClient) -> None:
        rank = line.index(op)
        steps = 0

        def step(path: str, data: dict[str, object] | None = None) -> Any:
            nonlocal steps
            due = began + steps * LINE_INTERVAL + rank * LINE_INTERVAL / len(line)
            time.sleep(max(0.0, due - time.monotonic()))
            steps += 1
            started = time.monotonic()
            response = op.post(path, data)
            return response, (time.monotonic() - started) * 1000

        for i in range(calls):
            response, ms = step("/staff/line/calls")
            found = _CALL_URL.search(response.headers.get("HX-Redirect", ""))
            if response.status_code != 204 or not found:
                series.error(f"call open {response.status_code}: {gist(response.text)}")
                continue
            series.add(ms)
            card = f"/staff/line/calls/{found.group(1)}"
            response, ms = step(f"{card}/details", {"topic": "hours", "note": f"Вопрос {i}"})
            if response.status_code != 200 or "Сохранено." not in response.text:
                series.error(f"call topic {response.status_code}: {gist(response.text)}")
                continue
            series.add(ms)
            response, ms = step(f"{card}/close", {"outcome": "answered"})
            if response.status_code != 200 or "Завершён" not in response.text:
                series.error(f"call close {response.status_code}: {gist(response.text)}")
                continue
            series.add(ms)

    run_parallel(len(line), line, operator)  # type: ignore[arg-type]
    series.finished = time.monotonic()


def _staff_ids(db: Any) -> dict[str, int]:
    with make_sessionmaker(db.engine)() as session:
        return {s.login: s.id or 0 for s in session.exec(select(Staff)).all()}


def _call_round(
    specialists: list[StaffClient], fleets: list[DisplayFleet], db: Any, rounds: int
) -> tuple[Series, Series]:
    """Specialists press "call next" CALL_INTERVAL apart; time each click until the number
    is drawable on every display (its event arrived there with the line to draw).

    Also returned: the "call next" requests' own time (click to the specialist's answer),
    the part of the figure that is the call itself rather than its way to the displays.
    """
    series = Series("call next -> drawable")
    requests = Series("call next, paced")
    for fleet in fleets:
        fleet.lag(reset=True)
    staff_ids = _staff_ids(db)
    factory = make_sessionmaker(db.engine)
    series.started = time.monotonic()
    for round_no in range(rounds):
        clicked: dict[int, float] = {}
        round_start = time.monotonic()

        def call(
            client: StaffClient,
            clicked: dict[int, float] = clicked,
            round_start: float = round_start,
        ) -> None:
            # The 60 specialists press "call next" one after another, CALL_INTERVAL apart.
            slot = specialists.index(client) * CALL_INTERVAL
            time.sleep(max(0.0, round_start + slot - time.monotonic()))
            started = time.monotonic()
            try:
                response = client.post("/staff/today/call-next")
            except TransportError as exc:
                series.error(f"call-next: {type(exc).__name__}")
                return
            if response.status_code != 200:
                series.error(f"call-next {response.status_code}: {gist(response.text)}")
                return
            requests.add((time.monotonic() - started) * 1000)
            clicked[staff_ids[client.login]] = started

        run_parallel(20, specialists, call)
        with factory() as session:
            called = session.exec(
                select(Ticket.id, Ticket.called_by_staff_id).where(
                    Ticket.status == TicketStatus.CALLED
                )
            ).all()
        latest = {staff_id: ticket_id for ticket_id, staff_id in called if staff_id in clicked}
        deadline = time.monotonic() + 5
        pending = set(latest.values())
        while pending and time.monotonic() < deadline:
            pending = set().union(*(fleet.not_drawable(pending) for fleet in fleets))
            time.sleep(0.05)
        for staff_id, ticket_id in latest.items():
            for fleet in fleets:
                for arrived in fleet.arrivals(ticket_id):
                    if arrived is None:
                        series.error(f"ticket {ticket_id}: not drawable on a display within 5 s")
                    else:
                        series.add((arrived - clicked[staff_id]) * 1000)
        if round_no + 1 < rounds:
            _finish_all(specialists, db)
    series.finished = time.monotonic()
    return series, requests


def _fleet_lag(fleets: list[DisplayFleet]) -> dict[str, float]:
    """How late the displays' loops woke from a 10 ms sleep during the calls (ms): the part of
    the drawable figures that is the load generator's own, not the server's."""
    lags = [lag for fleet in fleets for lag in fleet.lag()]
    if not lags:
        return {}
    return {
        "p50": round(percentile(lags, 50), 1),
        "p95": round(percentile(lags, 95), 1),
        "max": round(max(lags), 1),
    }


def _call_capacity(
    specialists: list[StaffClient], db: Any, rounds: int, cpu: CpuMeter | None = None
) -> Series:
    """Twenty specialists at once press "call next", unpaced; between rounds (untimed) the
    called visits are started and finished. Throughput counts the calls' own time."""
    series = Series("call next, unpaced")

    def call(client: StaffClient) -> None:
        started = time.monotonic()
        try:
            response = client.post("/staff/today/call-next")
        except TransportError as exc:
            series.error(f"call-next: {type(exc).__name__}")
            return
        if response.status_code == 200:
            series.add((time.monotonic() - started) * 1000)
        else:
            series.error(f"call-next {response.status_code}: {gist(response.text)}")

    series.started = time.monotonic()
    for round_no in range(rounds):
        began = time.monotonic()
        with cpu.span(UNPACED_CALLS) if cpu else contextlib.nullcontext():
            run_parallel(20, specialists, call)
        series.spans.append(time.monotonic() - began)
        if round_no + 1 < rounds:
            _finish_all(specialists, db)
    series.finished = time.monotonic()
    return series


def _finish_all(specialists: list[StaffClient], db: Any) -> None:
    """Start and finish the called tickets, each by the specialist who called it."""
    by_id = {_staff_ids(db)[client.login]: client for client in specialists}
    with make_sessionmaker(db.engine)() as session:
        rows = session.exec(
            select(Ticket.id, Ticket.called_by_staff_id).where(Ticket.status == TicketStatus.CALLED)
        ).all()

    def finish(row: tuple[int, int]) -> None:
        client = by_id.get(row[1])
        if client is None:
            return
        for _attempt in range(2):  # a keep-alive connection the server just closed: once more
            try:
                if client.post(f"/staff/today/tickets/{row[0]}/start").status_code == 200:
                    client.post(f"/staff/today/tickets/{row[0]}/finish")
                return
            except TransportError as exc:
                print(f"  finishing ticket {row[0]}: {type(exc).__name__}", flush=True)

    run_parallel(10, list(rows), finish)


def _growth(db: Any, calendar: WorkCalendar) -> dict[str, dict[str, float]]:
    """Slot search and a specialist's today list as history grows to 10x and 100x."""
    factory = make_sessionmaker(db.engine)
    out: dict[str, dict[str, float]] = {}
    with factory() as session:
        base = session.exec(select(Booking).limit(1)).one()
        base_count = len(session.exec(select(Booking.id)).all())
    added = 0
    for scale in (1, 10, 100):
        target = base_count * scale
        with factory() as session:
            _add_history(session, base, target - base_count - added)
        added = target - base_count
        with factory() as session:
            service = session.exec(select(Service).where(Service.code == "consultation")).one()
            staff = session.get(Staff, base.staff_id)
            assert staff is not None
            slot_ms = _time_ms(partial(_desk_search, session, calendar, service))
            today_ms = _time_ms(partial(today_board, session, calendar, staff))
        out[f"{scale}x ({target} bookings)"] = {
            "slot search ms": slot_ms,
            "today list ms": today_ms,
        }
        print(f"  growth {scale}x: slots {slot_ms} ms, today {today_ms} ms", flush=True)
    return out


def _desk_search(session: Any, calendar: WorkCalendar, service: Service) -> None:
    """What the booking desk computes: free counts per day and specialist, one day's slots."""
    grid = slot_grid(session, calendar, service=service)
    grid.counts_by_staff()
    per_day = grid.counts_by_day()
    if per_day:
        grid.slots_on(min(per_day))


def _add_history(session: Any, base: Booking, count: int) -> None:
    """Past bookings spread over the last year (with their slot holds)."""
    if count <= 0:
        return
    start = utcnow() - timedelta(days=365)
    specialists = session.exec(select(Booking.staff_id).distinct()).all()
    rows, holds = [], []
    for i in range(count):
        moment = (start + timedelta(minutes=15 * i)).replace(second=0, microsecond=0)
        rows.append(
            {
                "code": _code(),
                "client_id": base.client_id,
                "service_id": base.service_id,
                "staff_id": specialists[i % len(specialists)],
                "room_id": base.room_id,
                "starts_at": moment,
                "ends_at": moment + timedelta(minutes=15),
                "status": "completed",
                "remind_day_before": False,
                "remind_two_hours_before": False,
                "walk_in": False,
                "created_at": moment,
                "cancel_reason": "",
            }
        )
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(Booking), rows[chunk : chunk + 5000])
    session.commit()
    ids = session.exec(
        select(Booking.id, Booking.staff_id, Booking.starts_at)
        .where(col(Booking.status) == "completed")
        .where(col(Booking.starts_at) < utcnow() - timedelta(days=1))
    ).all()
    seen = {(h[0], h[1]) for h in session.exec(select(SlotHold.staff_id, SlotHold.starts_at)).all()}
    for booking_id, staff_id, starts_at in ids:
        if (staff_id, starts_at) not in seen:
            holds.append({"staff_id": staff_id, "starts_at": starts_at, "booking_id": booking_id})
            seen.add((staff_id, starts_at))
    for chunk in range(0, len(holds), 5000):
        session.execute(insert(SlotHold), holds[chunk : chunk + 5000])
    session.commit()


_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_code_counter = [0]


def _code() -> str:
    """A unique code for history rows: "0" (never in a live code) and a base-31 counter."""
    _code_counter[0] += 1
    n, digits = _code_counter[0], []
    for _ in range(5):
        n, rest = divmod(n, len(_ALPHABET))
        digits.append(_ALPHABET[rest])
    return "0" + "".join(reversed(digits))


def _time_ms(fn: Any, repeat: int = 15) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def _figure(budget: Budget, result: dict[str, Any]) -> float | None:
    value = result.get(budget.metric) if budget.metric != "value" else result.get("value")
    return float(value) if value is not None else None


def report(all_results: dict[str, dict[str, Any]]) -> bool:
    ok = True
    cores = os.cpu_count()
    print(
        f"\nPriyom benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cores} cores, {platform.python_version()}"
    )
    for backend, results in all_results.items():
        print(f"\n## {backend}\n")
        print(
            f"| {'measure':52} | {'p50':>8} | {'p95':>8} | {'p99':>8} | {'max':>8} | {'n':>6} | {'per s':>7} | budget | result |"
        )
        print(
            f"|{'-' * 54}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 8}|{'-' * 9}|--------|--------|"
        )
        for budget in BUDGETS:
            result = results.get(budget.name, {})
            figure = _figure(budget, result)
            passed = budget.check(figure)
            ok &= passed
            limit = f"{'>=' if budget.higher_is_better else '<'} {budget.limit:g} {budget.unit}"
            cells = [
                result.get(k, "") for k in ("p50", "p95", "p99", "max", "count", "throughput_per_s")
            ]
            if budget.metric == "value":
                cells = ["", "", "", "", result.get("count", ""), ""]
                cells[1] = result.get("value", "")
            print(
                f"| {budget.name:52} | {cells[0]!s:>8} | {cells[1]!s:>8} | {cells[2]!s:>8} | {cells[3]!s:>8} "
                f"| {cells[4]!s:>6} | {cells[5]!s:>7} | {limit} | {'PASS' if passed else 'FAIL'} |"
            )
        for budget in BUDGETS:
            for why in results.get(budget.name, {}).get("error_samples", []):
                print(f"  error in {budget.name}: {why}")
        for measure, lag in results.get("display fleet's loop lag", {}).items():
            if lag:
                print(
                    f"load generator (not a budget): the displays' loop woke late by p50 "
                    f"{lag['p50']} / p95 {lag['p95']} / max {lag['max']} ms during {measure!r}"
                )
        for measure, used in results.get("CPU per operation", {}).items():
            print(
                f"CPU (not a budget): server {used['server_ms']} ms, load generator "
                f"{used['load_ms']} ms (kiosks, staff, printer, displays' and tablets' loops) "
                f"per operation during {measure!r}"
            )
        for measure, call in results.get("the paced calls' own requests", {}).items():
            if call.get("count"):
                print(
                    f"the call itself (not a budget): click to the specialist's answer p50 "
                    f"{call['p50']} / p95 {call['p95']} ms during {measure!r}"
                )
        for label, figures in results.get("growth", {}).items():
            print(f"growth {label}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--displays", type=int, default=100)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--bookings-confirmed", type=int, default=100)
    parser.add_argument("--calls", type=int, default=20, help="call cards per line operator")
    parser.add_argument("--no-growth", dest="growth", action="store_false")
    parser.add_argument(
        "--sqlite-workers", type=int, default=1, help="worker processes on SQLite (PostgreSQL: 2)"
    )
    args = parser.parse_args()
    all_results: dict[str, dict[str, Any]] = {}
    for backend in args.db or ["sqlite", "postgres"]:
        with tempfile.TemporaryDirectory(prefix=f"priyom-bench-{backend}-") as tmp:
            all_results[backend] = run_backend(backend, args, Path(tmp))
    ok = report(all_results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "at": datetime.now(UTC).isoformat(),
                "results": all_results,
                "budgets_met": ok,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
