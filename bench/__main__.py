"""Replay a busy day of a large office against the real server and compare with the budgets.

    python -m bench [--db sqlite] [--db postgres] [--bookings 3000] [--growth/--no-growth]

Prints a table per database and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from bench.load import Listener, StaffClient, checkins, gist, run_parallel
from bench.office import large_office
from bench.printer_server import PrinterServer
from bench.setup import Server, create_database, load_bench_config, rss_mb, seed_day
from bench.stats import Budget, Series
from visits.calendar import WorkCalendar, utcnow
from visits.db import make_sessionmaker
from visits.models import Booking, Service, SlotHold, Staff, Ticket
from visits.queries.slots import free_slots, slot_grid
from visits.queries.today import today_board

BUDGETS = [
    Budget("kiosk check-in -> ticket bytes at the printer", "p95", 100, "ms"),
    Budget("call next -> event at all 100 displays", "p95", 300, "ms"),
    Budget("free-slot search (60 specialists, 30 working days)", "p95", 50, "ms"),
    Budget("booking confirm", "p95", 100, "ms"),
    Budget("call card step, 10 operators at once", "p95", 100, "ms"),
    Budget("ticket issue throughput (20 kiosks)", "value", 5, "check-ins/s", higher_is_better=True),
    Budget("server resident memory at peak, per process", "value", 200, "MB"),
    Budget("errors", "value", 1, "count"),
]
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
        displays=args.displays,
        tablets=30,
    )
    server = Server(
        db=db,
        config_path=config_path,
        tmp=tmp,
        port=_free_port(),
        workers=1 if backend == "sqlite" else 2,
    )
    server.start()
    memory = MemorySampler(server)
    memory.start()
    results: dict[str, Any] = {}
    errors = 0
    listeners: list[Listener] = []
    try:
        listeners = [Listener(server.url, t, "/signage/stream") for t in plan.display_tokens]
        listeners += [Listener(server.url, t, "/kiosk/tablet/events") for t in plan.tablet_tokens]
        for listener in listeners:
            listener.start()
        for listener in listeners:
            if not listener.connected.wait(30):
                raise RuntimeError("a push listener could not connect")
        displays = listeners[: len(plan.display_tokens)]
        print(
            f"[{backend}] {len(listeners)} push clients connected; logging in staff ...", flush=True
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
        half = len(codes) // 2
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
            server.url,
            plan.kiosk_tokens,
            codes[:half],
            printer,
            checkin,
            concurrency=10,
            interval=2.0,
        )
        operator_thread.join()
        line_thread.join()

        throughput = Series("throughput")
        checkins(server.url, plan.kiosk_tokens, codes[half:], printer, throughput, concurrency=20)
        issued = len(throughput.samples)
        span = (throughput.finished or 0) - (throughput.started or 0)

        calls = _call_round(specialists, displays, db, rounds=2)
        _finish_all(specialists, db)

        errors = sum(s.errors for s in (search, confirm, checkin, throughput, calls, cards))
        results = {
            BUDGETS[0].name: checkin.summary(),
            BUDGETS[1].name: calls.summary(),
            BUDGETS[2].name: search.summary(),
            BUDGETS[3].name: confirm.summary(),
            BUDGETS[4].name: cards.summary(),
            BUDGETS[5].name: {"value": round(issued / span, 1) if span else 0, "count": issued},
        }
        errors += sum(listener.errors for listener in listeners)
    finally:
        for listener in listeners:
            listener.stop.set()
        memory.stop.set()
        server.stop()
        printer.close()
    results[BUDGETS[6].name] = {"value": round(memory.peak, 1)}
    results[BUDGETS[7].name] = {"value": errors}
    if args.growth:
        results["growth"] = _growth(db, calendar)
    db.drop()
    return results


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


def _call_round(
    specialists: list[StaffClient], displays: list[Listener], db: Any, rounds: int
) -> Series:
    """Each specialist calls the next visitor; time the click until every display has the event."""
    series = Series("call next")
    factory = make_sessionmaker(db.engine)
    with factory() as session:
        staff_ids = {s.login: s.id for s in session.exec(select(Staff)).all()}
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
            response = client.post("/staff/today/call-next")
            if response.status_code != 200:
                series.error(f"call-next {response.status_code}: {gist(response.text)}")
                return
            clicked[staff_ids[client.login] or 0] = started

        run_parallel(20, specialists, call)
        with factory() as session:
            called = session.exec(
                select(Ticket.id, Ticket.called_by_staff_id, Ticket.called_at).where(
                    col(Ticket.called_at).is_not(None)
                )
            ).all()
        latest: dict[int, int] = {}
        for ticket_id, staff_id, _at in sorted(called, key=lambda row: row[2]):
            if staff_id in clicked:
                latest[staff_id] = ticket_id
        deadline = time.monotonic() + 5
        pending = set(latest.items())
        while pending and time.monotonic() < deadline:
            pending = {
                p for p in pending if not all(("ticket.called", p[1]) in d.events for d in displays)
            }
            time.sleep(0.05)
        for staff_id, ticket_id in latest.items():
            for display in displays:
                arrived = display.events.get(("ticket.called", ticket_id))
                if arrived is None:
                    series.error(f"ticket {ticket_id}: no event at a display within 5 s")
                else:
                    series.add((arrived - clicked[staff_id]) * 1000)
        if round_no + 1 < rounds:
            _finish_all(specialists, db)
    series.finished = time.monotonic()
    return series


def _finish_all(specialists: list[StaffClient], db: Any) -> None:
    """Start and finish the called tickets (rating prompts go to the tablets)."""
    with make_sessionmaker(db.engine)() as session:
        rows = session.exec(select(Ticket.id).where(Ticket.status == "called")).all()

    def finish(ticket_id: int) -> None:
        for client in specialists:
            if client.post(f"/staff/today/tickets/{ticket_id}/start").status_code == 200:
                client.post(f"/staff/today/tickets/{ticket_id}/finish")
                return

    for ticket_id in rows:
        finish(ticket_id)


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
