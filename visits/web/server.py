"""Production server: gunicorn with threads for requests, one thread for all push streams.

Ordinary requests use a gthread worker's pool. Each hallway display and tablet
keeps one Server-Sent Events stream open for half an hour; once its response is
decided, the worker hands the connection to the app's stream hub
(visits/web/stream_hub.py), whose one thread writes every stream, and the
request's thread goes back to the pool. Several workers use every core: on
PostgreSQL LISTEN/NOTIFY carries push events between them; on SQLite a commit
pokes the other workers, which read the event table's newest rows (and look
every 20 ms anyway), and their writers queue on a file lock (visits/db.py).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from visits.config import OfficeConfig
from visits.settings import Settings
from visits.web.app import screens_import
from visits.web.sse import HANDOVER_ENVIRON, StreamHandedOver

if TYPE_CHECKING:
    from visits.push import PushBus

    # gunicorn ships no type hints: what we use of its application class, typed.
    class BaseApplication:
        cfg: Any

        def __init__(self) -> None: ...
        def run(self) -> None: ...

    class ThreadWorker:
        cfg: Any
        wsgi: Any
        nr_conns: int

        def load_wsgi(self) -> None: ...
        def handle_request(self, req: Any, conn: Any) -> bool: ...
        def finish_request(self, conn: Any, fs: Any) -> None: ...

    class Logger:
        cfg: Any
        access_log: logging.Logger
        access_log_enabled: bool

        def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None: ...

else:
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger
    from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)


class PushStreamWorker(ThreadWorker):
    """gunicorn's gthread worker that lets a push stream's connection go to the stream hub.

    A thousand displays held a thousand threads, all woken by each call (a second
    of queueing for the interpreter lock, 47 MiB of stacks). Here the app answers a
    stream by handing its socket to the hub and raising StreamHandedOver; the worker
    then forgets the connection: it neither answers nor closes it.
    """

    def load_wsgi(self) -> None:
        super().load_wsgi()
        if not self.cfg.is_ssl:  # the hub writes plain sockets; behind TLS streams keep a thread
            _offer_handover(self.wsgi)

    def handle_request(self, req: Any, conn: Any) -> bool:
        try:
            return super().handle_request(req, conn)
        except StreamHandedOver:
            conn.priyom_handed_over = True
            return False

    def finish_request(self, conn: Any, fs: Any) -> None:
        if getattr(conn, "priyom_handed_over", False):
            self.nr_conns -= 1  # the hub owns the socket now
            return
        super().finish_request(conn, fs)


# The access log's line: address, time, method and path without the query string (a search
# by phone, ?q=+7913..., must not put the number into the log), status, bytes, milliseconds.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class AccessLogger(Logger):
    """gunicorn's logger, with the access log's line (ACCESS_LOG_FORMAT) written directly.

    gunicorn builds some twenty fields and a dictionary of every request header for
    each line, formats the time anew and passes it all through the logging module
    (a record, a handler lock, a flush): about 5% of a check-in's time under the
    interpreter lock. Here the line is one f-string, the time is formatted once a
    second, and it goes to the access log's file in one write() (whole lines: a
    pipe or an O_APPEND file keeps them apart). Another handler setup (a log
    config, syslog) gets gunicorn's own path.
    """

    _stamp_second = -1
    _stamp = ""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        fd = self._access_fd()
        if fd is None:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        ms = request_time.seconds * 1000 + request_time.microseconds // 1000
        line = (
            f"{environ.get('REMOTE_ADDR', '-')} {self._now()} "
            f'"{environ.get("REQUEST_METHOD")} {environ.get("PATH_INFO")}" {status} '
            f"{'-' if sent is None else sent} {ms}ms\n"
        )
        # As the logging module does, a failed write (a full disk) does not fail the request.
        with contextlib.suppress(OSError):
            os.write(fd, line.encode("utf-8", "backslashreplace"))

    def _access_fd(self) -> int | None:
        """The descriptor of the access log's one stream (stdout or a file), if that is all."""
        handlers = self.access_log.handlers
        if len(handlers) != 1 or type(handlers[0]) not in (
            logging.StreamHandler,
            logging.FileHandler,
        ):
            return None
        stream = getattr(handlers[0], "stream", None)
        try:
            return stream.fileno() if stream is not None else None
        except (OSError, ValueError, AttributeError):
            return None

    def _now(self) -> str:
        """The time as gunicorn writes it ([01/Dec/2026:18:52:35 +0000]), made once a second."""
        now = time.time()
        second = int(now)
        if second != self._stamp_second:
            # Benign race: two threads may both format the same second.
            self._stamp = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))
            self._stamp_second = second
        return self._stamp


def _offer_handover(app: Flask) -> None:
    """Tell the app's requests that a push stream's connection may be handed over.

    Set inside the Flask app (its wsgi_app), so the worker's `wsgi` stays the app
    itself: the scheduler's start reads its context from there.
    """
    inner = app.wsgi_app

    def offering_handover(environ: dict[str, Any], start_response: Any) -> Any:
        environ[HANDOVER_ENVIRON] = True
        return inner(environ, start_response)

    app.wsgi_app = offering_handover  # type: ignore[method-assign]


def _post_worker_init(_worker: Any) -> None:
    """Settle the loaded app's memory (`serve --no-scheduler`)."""
    _freeze_startup_heap()


def _post_worker_init_with_scheduler(worker: Any) -> None:
    """Settle the loaded app's memory, then let this worker wait for the scheduler's turn.

    One worker of the server at a time runs a scheduler runner (the holder of the
    server's turn, a file lock), and it runs jobs while it holds the lease; the
    others keep one idle thread and take the turn if that worker dies or restarts.
    """
    _freeze_startup_heap()
    from visits.jobs import start_background_scheduler
    from visits.web.context import Priyom

    ctx: Priyom = worker.wsgi.extensions["priyom"]
    worker.priyom_scheduler = start_background_scheduler(
        database_url=ctx.settings.database_url,
        config=ctx.config,
        always_open=ctx.calendar.always_open,
        lease_seconds=ctx.settings.scheduler_lease_seconds,
        # The jobs' events (a no-show at the day's close, a printer's alert) wake
        # this worker's streams at once, as the app's own commits do.
        push_bus=ctx.bus,
        turn_lock=scheduler_turn_lock(ctx.settings),
    )


def scheduler_turn_lock(settings: Settings) -> Path:
    """The file whose lock one worker at a time holds to run the scheduler (per database)."""
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return settings.var_dir / f"scheduler-{digest}.lock"


def _freeze_before_fork(_server: Any, _worker: Any) -> None:
    """Move the master's objects out of the collector's reach before a worker is forked.

    A worker's collections then never write to the pages it shares with the master
    (a full pass writes a header in every object it walks): those pages stay shared.
    """
    gc.collect()
    gc.freeze()


def _freeze_startup_heap() -> None:
    """Keep what the app loaded at start out of the garbage collector's full passes.

    The modules, models and templates of a loaded worker are a hundred thousand
    objects that live as long as the process. Left in the collector's oldest
    generation, every full pass walks them all: a 70 ms stop of every thread,
    in the middle of a check-in or a "call next", several times a minute under
    load. Frozen, a full pass walks only what requests made since.
    """
    gc.collect()
    gc.freeze()


def _sqlite_push_between_workers(settings: Settings) -> PushBus | None:
    """Several workers on one SQLite file: each learns of the others' events from the table.

    The worker's bus, for the app it loads (None: the app's in-process default).
    """
    from sqlalchemy.engine import make_url

    from visits.push import SqlitePollBus

    if settings.push_bus == "memory":
        return None
    path = make_url(settings.database_url).database or ""
    log.info("push bus: SQLite, each worker poked at the others' commits (and polls every 20 ms)")
    return SqlitePollBus(path)


def _worker_exit(_server: Any, worker: Any) -> None:
    """Stop this worker's scheduler and give up the lease, so another takes over at once."""
    runner = getattr(worker, "priyom_scheduler", None)
    if runner is not None:
        runner.stop()
        runner.stopped.wait(10)


class _Gunicorn(BaseApplication):
    def __init__(
        self, options: dict[str, Any], *, settings: Settings, config: OfficeConfig, demo: bool
    ) -> None:
        self.options = options
        self.settings = settings
        self.office = config
        self.demo = demo
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # In each worker after the fork: its own engine and connections.
        from visits.web.app import create_app

        bus = None
        if self.settings.is_sqlite and self.options.get("workers", 1) > 1:
            bus = _sqlite_push_between_workers(self.settings)
        return create_app(
            config=self.office, environment=self.settings, demo=self.demo, push_bus=bus
        )


def run_server(
    *,
    settings: Settings,
    config: OfficeConfig,
    demo: bool,
    host: str,
    port: int,
    workers: int,
    threads: int,
    scheduler: bool,
) -> None:
    """Run gunicorn (gthread, push streams handed to the hub) in the foreground."""
    log.info("serving on http://%s:%s (%d worker(s) x %d threads)", host, port, workers, threads)
    # The workers fork from the master: code loaded here is loaded once and its pages shared.
    screens_import()
    if scheduler:
        # Every worker starts a scheduler runner (one holds the lease): its code too.
        import apscheduler.schedulers.background  # noqa: F401
        import apscheduler.triggers.cron  # noqa: F401

        import visits.jobs  # noqa: F401
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": PushStreamWorker,
            "threads": threads,
            # Push streams send a heartbeat every 15 s; a silent connection is dead.
            "timeout": 60,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "logger_class": AccessLogger,
            "errorlog": "-",
            "loglevel": "info",
            # Requests and kept-alive browsers; streams handed to the hub no longer count.
            "worker_connections": max(1000, threads + 200),
            "pre_fork": _freeze_before_fork,
            "post_worker_init": (
                _post_worker_init_with_scheduler if scheduler else _post_worker_init
            ),
            "worker_exit": _worker_exit,
        },
        settings=settings,
        config=config,
        demo=demo,
    ).run()
