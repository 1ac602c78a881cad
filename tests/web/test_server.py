"""The production server's worker setup (gunicorn hooks)."""

import gc
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import time_machine
from gunicorn.config import Config
from gunicorn.glogging import Logger

from tests.conftest import Database
from tests.factories import make_device
from visits.config import DEMO_CONFIG_PATH, OfficeConfig
from visits.db import make_sessionmaker, write_transaction
from visits.models import DeviceKind
from visits.push import SqlitePollBus, push_emit, push_latest_id
from visits.settings import Settings
from visits.web.server import ACCESS_LOG_FORMAT, AccessLogger, _Gunicorn, _post_worker_init


def test_a_started_worker_keeps_its_loaded_app_out_of_full_collections() -> None:
    gc.unfreeze()
    try:
        _post_worker_init(SimpleNamespace())
        # Everything alive when the worker started is frozen: full passes skip it.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_each_worker_builds_its_app_from_the_settings_read_at_start(
    tmp_path: Path, office_config: OfficeConfig
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'priyom.sqlite3'}", var_dir=tmp_path)
    server = _Gunicorn({}, settings=settings, config=office_config, demo=True)
    app = server.load()
    ctx = app.extensions["priyom"]
    assert ctx.settings is settings and ctx.config is office_config
    # `serve --demo` reaches the app as an argument, not through os.environ.
    assert ctx.demo and app.config["PRIYOM_DEMO"] and "PRIYOM_DEMO" not in os.environ
    app.extensions["priyom_engine"].dispose()


def test_sqlite_workers_each_give_their_app_a_bus_that_reads_the_event_table(
    tmp_path: Path, office_config: OfficeConfig
) -> None:
    """Several workers on one SQLite file: the app a worker loads owns that worker's poll bus."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'priyom.sqlite3'}", var_dir=tmp_path)
    server = _Gunicorn({"workers": 2}, settings=settings, config=office_config, demo=False)
    app = server.load()
    ctx = app.extensions["priyom"]
    try:
        assert isinstance(ctx.bus, SqlitePollBus)
        with ctx.session_factory() as session:
            assert session.info["push_bus"] is ctx.bus  # its commits wake its own streams
    finally:
        ctx.bus.close()
        app.extensions["priyom_engine"].dispose()


def test_serve_as_make_run_does_hands_a_display_stream_to_the_hub(
    fresh_db: Database, tmp_path: Path
) -> None:
    """`priyom serve` with its scheduler (as `make run`): the worker starts, a display's
    stream answers as HTTP/1.1 without a length, and an event written by another
    process reaches it within a heartbeat."""
    with make_sessionmaker(fresh_db.engine)() as session:
        _device, token = make_device(session, DeviceKind.DISPLAY, spot_key="f3-lift")
        start = push_latest_id(session)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = dict(
        os.environ,
        DATABASE_URL=fresh_db.url,
        PRIYOM_VAR_DIR=str(tmp_path),
        PRIYOM_SECRET_KEY="server-test",
        PRIYOM_CONFIG=str(DEMO_CONFIG_PATH),
        PRIYOM_LOCAL_LINKS="1",
        PRIYOM_SSE_HEARTBEAT="0.2",
    )
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "visits.web.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not answer within 30 s"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as display:
            display.sendall(
                f"GET /signage/stream?after={start} HTTP/1.1\r\nHost: priyom\r\n"
                f"Cookie: priyom_device={token}\r\nAccept: text/event-stream\r\n\r\n".encode()
            )
            received = display.recv(65536)
            while b"connected after" not in received:
                received += display.recv(65536)
            head = received.decode()
            assert head.startswith("HTTP/1.1 200 OK\r\n") and "Content-Length" not in head
            assert "Connection: close\r\n" in head and "Transfer-Encoding" not in head
            with make_sessionmaker(fresh_db.engine)() as session, write_transaction(session):
                call = push_emit(session, "ticket.called", ["displays"], ticket_id=1)
            while f"id: {call.id}\n".encode() not in received:
                chunk = display.recv(65536)
                assert chunk, received
                received += chunk
        assert "runs the jobs" in (tmp_path / "server.log").read_text()  # its scheduler too
    finally:
        server.terminate()
        server.wait(15)
        log.close()


def test_the_access_log_writes_the_line_gunicorn_would(tmp_path: Path) -> None:
    """The cheap access log writes what gunicorn's own logger writes with our format:
    the path without its query string (a phone number searched for stays out)."""
    response = SimpleNamespace(status="303 SEE OTHER", sent=0, headers=[("Location", "/staff/")])
    request = SimpleNamespace(headers=[("HOST", "priyom"), ("COOKIE", "session=x")])
    environ = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/staff/desk/search?q=%2B79130000000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/staff/desk/search",
        "QUERY_STRING": "q=%2B79130000000",
    }
    with time_machine.travel(1796100000.5, tick=False):  # one second for both lines
        lines = [
            _access_line(logger_class, tmp_path, response, request, environ)
            for logger_class in (Logger, AccessLogger)
        ]
    assert lines[0] == lines[1]
    assert lines[1].endswith(' "GET /staff/desk/search" 303 0 1002ms\n')
    assert "7913" not in lines[1]


def _access_line(logger_class: type[Logger], tmp_path: Path, *atoms: object) -> str:
    """The line a gunicorn logger of `logger_class` writes for one request."""
    path = tmp_path / f"{logger_class.__name__}.log"
    config = Config()
    config.set("accesslog", str(path))
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = logger_class(config)
    logger.access(*atoms, timedelta(seconds=1, microseconds=2500))
    logger.access_log.handlers[0].close()
    return path.read_text()
