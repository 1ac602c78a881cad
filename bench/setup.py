"""Benchmark data: a migrated database of the large office with a busy day booked."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bench.office import CHECKIN_OPENS_MINUTES
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig, load_config
from visits.db import make_engine, make_sessionmaker
from visits.migrate import migrate_upgrade
from visits.models import Booking, Client, DeviceKind, Room, Service, SlotHold, Staff, StaffService
from visits.services.booking import booking_code_new
from visits.services.devices import device_create, device_pair
from visits.services.office import office_sync
from visits.services.staff import staff_set_password

PASSWORD = "bench-password-1"
PG_ADMIN_URL = os.environ.get(
    "PRIYOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class BenchDatabase:
    backend: str
    url: str
    engine: Engine
    name: str

    def drop(self) -> None:
        self.engine.dispose()
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{make_url(self.url).database}{suffix}").unlink(missing_ok=True)
        else:
            admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()


def create_database(backend: str, tmp: Path, config: OfficeConfig) -> BenchDatabase:
    name = f"priyom_bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / (name + '.sqlite3')}"
    else:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate_upgrade(engine)
    with make_sessionmaker(engine)() as session:
        office_sync(session=session, config=config)
        for staff in session.exec(select(Staff)).all():
            staff_set_password(session=session, login=staff.login, password=PASSWORD)
    return BenchDatabase(backend, url, engine, name)


@dataclass
class DayPlan:
    """What the load generator needs: booking codes due now, staff logins, device tokens."""

    due_codes: list[str]
    specialists: list[str]
    operators: list[str]
    kiosk_tokens: list[str]
    display_tokens: list[str]
    tablet_tokens: list[str]
    client_ids: list[int]
    services: dict[str, int] = field(default_factory=dict)


def _quarter(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def seed_day(
    db: BenchDatabase,
    calendar: WorkCalendar,
    *,
    bookings: int,
    printer_port: int,
    kiosks: int,
    displays: int,
    tablets: int,
) -> DayPlan:
    """Book a busy day: every specialist's next hour is due for check-in, the rest spread later."""
    factory = make_sessionmaker(db.engine)
    now = utcnow()
    with factory() as session:
        specialists = [
            s
            for s in session.exec(select(Staff).order_by(Staff.id)).all()
            if "specialist" in s.roles
        ]
        operators = [s.login for s in session.exec(select(Staff)).all() if "operator" in s.roles]
        services = {s.code: s for s in session.exec(select(Service)).all()}
        links: dict[int, list[Service]] = {}
        for link in session.exec(select(StaffService)).all():
            links.setdefault(link.staff_id, []).append(
                next(s for s in services.values() if s.id == link.service_id)
            )
        rooms = {r.id: r for r in session.exec(select(Room)).all()}
        client_rows = [
            {
                "surname": f"Клиентов{i % 97}",
                "first_name": "Пётр",
                "patronymic": "Ильич",
                "phone": f"+7913{i:07d}",
                "email": None,
                "channel": "sms",
                "second_channel": None,
                "allow_early_messages": False,
                "consent_at": now,
                "notes": "",
                "created_at": now,
            }
            for i in range(bookings)
        ]
        session.execute(insert(Client), client_rows)
        session.commit()
        client_ids = list(session.exec(select(Client.id).order_by(Client.id)).all())
        booking_rows, holds = [], []
        due: list[tuple[datetime, int, str]] = []
        # Due: every visit of the next few hours, inside the check-in window (the office file
        # opens it CHECKIN_OPENS_MINUTES ahead) even after the minutes the setup and the
        # paced runs take; today in the office's zone (a morning zone, bench/office.py).
        due_until = now + timedelta(minutes=CHECKIN_OPENS_MINUTES - 30)
        today = calendar.to_local(now).date()
        start = _quarter(now) + timedelta(minutes=15)
        per_staff = -(-bookings // len(specialists))
        codes: set[str] = set()
        index = 0
        for member in specialists:
            service = min(links[member.id or 0], key=lambda s: s.duration_minutes)
            cursor = start
            for _n in range(per_staff):
                if index >= bookings:
                    break
                local = calendar.to_local(cursor)
                if local.hour == 13 and local.minute < 48:  # the demo-hours lunch break
                    cursor = calendar.at(
                        local.date(), local.time().replace(hour=13, minute=45)
                    ).astimezone(UTC)
                    cursor += timedelta(minutes=15)
                code = booking_code_new()
                while code in codes:
                    code = booking_code_new()
                codes.add(code)
                booking_rows.append(
                    {
                        "code": code,
                        "client_id": client_ids[index],
                        "service_id": service.id,
                        "staff_id": member.id,
                        "room_id": member.room_id,
                        "starts_at": cursor,
                        "ends_at": cursor + timedelta(minutes=service.duration_minutes),
                        "status": "booked",
                        "remind_day_before": False,
                        "remind_two_hours_before": False,
                        "walk_in": False,
                        "created_at": now,
                        "cancel_reason": "",
                    }
                )
                if cursor <= due_until and calendar.to_local(cursor).date() == today:
                    due.append((cursor, member.id or 0, code))
                cursor += timedelta(minutes=max(15, service.duration_minutes))
                index += 1
        session.execute(insert(Booking), booking_rows)
        session.commit()
        for booking_id, staff_id, starts_at, ends_at in session.exec(
            select(Booking.id, Booking.staff_id, Booking.starts_at, Booking.ends_at)
        ).all():
            cell = starts_at
            while cell < ends_at:
                holds.append({"staff_id": staff_id, "starts_at": cell, "booking_id": booking_id})
                cell += timedelta(minutes=15)
        session.execute(insert(SlotHold), holds)
        session.commit()
        assert rooms
        kiosk_tokens = [
            _pair(
                session,
                DeviceKind.KIOSK,
                f"Киоск {i}",
                printer_uri=f"tcp://127.0.0.1:{printer_port}",
            )
            for i in range(kiosks)
        ]
        spots = [s.key for s in calendar.config.spots]
        display_tokens = [
            _pair(session, DeviceKind.DISPLAY, f"Табло {i}", spot_key=spots[i % len(spots)])
            for i in range(displays)
        ]
        tablet_rooms = [rooms[m.room_id].number for m in specialists if m.room_id][:tablets]
        tablet_tokens = [
            _pair(session, DeviceKind.TABLET, f"Планшет {n}", room_number=n) for n in tablet_rooms
        ]
    return DayPlan(
        # Earliest first, the specialists in turn: any prefix spreads over every queue.
        due_codes=[code for _at, _staff, code in sorted(due)],
        specialists=[s.login for s in specialists],
        operators=operators,
        kiosk_tokens=kiosk_tokens,
        display_tokens=display_tokens,
        tablet_tokens=tablet_tokens,
        client_ids=client_ids,
        services={c: s.id or 0 for c, s in services.items()},
    )


def _pair(session: Session, kind: DeviceKind, name: str, **kwargs: str) -> str:
    _device, code = device_create(session=session, kind=kind, name=name, **kwargs)
    return device_pair(session=session, code=code)[1]


@dataclass
class Server:
    """`priyom serve`, as in production, on a free port."""

    db: BenchDatabase
    config_path: Path
    tmp: Path
    port: int
    workers: int
    # gthread holds a thread per open push stream: the growth run's 1,000 displays need more
    # than production's 256.
    threads: int = 256
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(
            os.environ,
            DATABASE_URL=self.db.url,
            PRIYOM_CONFIG=str(self.config_path),
            PRIYOM_VAR_DIR=str(self.tmp),
            PRIYOM_SECRET_KEY=secrets.token_urlsafe(32),
            PRIYOM_ALWAYS_OPEN="1",
            PRIYOM_LOCAL_LINKS="1",  # the demo office's loopback public_base_url
            PRIYOM_LOG_LEVEL="WARNING",
            # The replay runs a day's check-ins at each kiosk within minutes: a kiosk's
            # look-up limit (40 in 10 minutes, against guessing codes) would refuse them.
            # The limit's own counting stays in every check-in measured.
            PRIYOM_LIMITS=json.dumps({"kiosk_lookups_per_10_min": 1_000_000}),
        )
        self.log = (self.tmp / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visits.web.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                # With its scheduler, as production runs it: the idle memory is an office's.
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start: " + (self.tmp / "server.log").read_text()[-2000:])

    def pids(self) -> list[int]:
        """The master and its workers."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [self.proc.pid, *kids]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (from /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional memory of one process, in MiB: pages shared with the master or a
    sibling worker count once across them (RSS would count them in each)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def load_bench_config(path: Path) -> OfficeConfig:
    return load_config(path)
