"""Browser tests: Playwright in Debian's Chromium against a real server process.

The server is `priyom serve` (gunicorn) on a free port, on its own database
copied from the session's migrated template, on SQLite or PostgreSQL. The
office is open around the clock there (PRIYOM_ALWAYS_OPEN=1), so the tests
run at any hour; tests seed data through `live.session()` with real commits.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlmodel import Session

from tests.conftest import TEST_PASSWORD, Database, create_database
from visits.calendar import WorkCalendar
from visits.config import DEMO_CONFIG_PATH, OfficeConfig, load_config
from visits.db import make_sessionmaker
from visits.models import DeviceKind

CHROMIUM = os.environ.get("PRIYOM_CHROMIUM", "/usr/bin/chromium")
VIEWPORTS = {
    "kiosk": {"width": 1080, "height": 1920},
    "display": {"width": 1920, "height": 1080},
    "tablet": {"width": 1280, "height": 800},
    "staff": {"width": 1440, "height": 900},
}
ARTIFACTS = Path(os.environ.get("PRIYOM_TEST_ARTIFACTS", "test-artifacts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--autoplay-policy=no-user-gesture-required",
        ],
    }


def morning_timezone(now: datetime | None = None) -> str:
    """A fixed-offset zone where the local time is now between 09:00 and 10:00.

    (Etc/GMT-N means UTC+N: the sign is inverted by the POSIX convention.)
    """
    hour = (now or datetime.now(UTC)).hour
    offset = (9 - hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


@functools.cache
def e2e_config_path() -> Path:
    """The demo office in a zone where it is morning now, for every live server and the tests.

    The test office is open around the clock, but a test's day would still run out near
    local midnight; chosen once per run, so servers and tests agree on the day.
    """
    text, count = re.subn(
        r'timezone = ".*"',
        f'timezone = "{morning_timezone()}"',
        DEMO_CONFIG_PATH.read_text(encoding="utf-8"),
        count=1,
    )
    assert count == 1
    path = Path(tempfile.mkdtemp(prefix="priyom-e2e-")) / "office.toml"
    path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    db: Database
    tmp: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.db.url,
                "PRIYOM_VAR_DIR": str(self.tmp),
                "PRIYOM_SECRET_KEY": "e2e-secret",
                "PRIYOM_ALWAYS_OPEN": "1",
                # The browser opens QR links on this same machine: a loopback address is right.
                "PRIYOM_LOCAL_LINKS": "1",
                "PRIYOM_CONFIG": str(e2e_config_path()),
                "PRIYOM_LOG_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        log = (self.tmp / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visits.web.cli",
                "serve",
                "--port",
                str(self.port),
                "--threads",
                "64",
                "--no-scheduler",
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(self.tmp / 'server.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def session(self) -> Session:
        """A session on the server's database; commits are seen by the server."""
        return make_sessionmaker(self.db.engine)()

    def log(self) -> str:
        return (self.tmp / "server.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def live(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[LiveServer]:
    """A real server process on its own database, for one test module."""
    tmp = tmp_path_factory.mktemp("live")
    db = create_database(database.backend, tmp, office_config, template=database)
    server = LiveServer(db=db, tmp=tmp)
    server.start()
    yield server
    server.stop()
    db.drop()


@pytest.fixture(scope="session")
def open_calendar() -> WorkCalendar:
    """The calendar the live servers use: open around the clock, in the morning zone."""
    return WorkCalendar(load_config(e2e_config_path()), always_open=True)


@pytest.fixture
def new_context(browser: Browser, live: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts at a device's viewport; all are closed after the test."""
    contexts: list[BrowserContext] = []

    def make(device: str = "staff", **kwargs: Any) -> BrowserContext:
        context = browser.new_context(
            viewport=VIEWPORTS[device], base_url=live.url, locale="ru-RU", **kwargs
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def staff_page(make: Callable[..., BrowserContext], login: str) -> Page:
    """A staff browser, logged in."""
    page = make("staff").new_page()
    page.goto("/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def device_page(
    make: Callable[..., BrowserContext],
    live: LiveServer,
    kind: DeviceKind,
    viewport: str,
    **device_args: Any,
) -> Page:
    """A paired device browser (kiosk, display or tablet) with its device cookie set."""
    from tests.factories import make_device

    with live.session() as session:
        device, token = make_device(session, kind, **device_args)
    context = make(viewport)
    context.add_cookies([{"name": "priyom_device", "value": token, "url": live.url}])
    page = context.new_page()
    page.device_id = device.id  # type: ignore[attr-defined]
    return page
