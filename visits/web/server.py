"""Production server: gunicorn with threads, so long-lived push streams do not starve requests.

Each hallway display and tablet keeps one Server-Sent Events stream open; a
gthread worker gives each its own thread (cheap: they sleep on a condition),
while ordinary requests use the same pool. Several workers use every core:
on PostgreSQL LISTEN/NOTIFY carries push events between them, on SQLite each
worker reads the event table's newest rows every few milliseconds.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

from flask import Flask

from visits.config import OfficeConfig
from visits.settings import Settings

if TYPE_CHECKING:
    from visits.push import PushBus

    # gunicorn ships no type hints: what we use of its application class, typed.
    class BaseApplication:
        cfg: Any

        def __init__(self) -> None: ...
        def run(self) -> None: ...

else:
    from gunicorn.app.base import BaseApplication

log = logging.getLogger(__name__)


def _post_worker_init(_worker: Any) -> None:
    """Settle the loaded app's memory (`serve --no-scheduler`)."""
    _freeze_startup_heap()


def _post_worker_init_with_scheduler(worker: Any) -> None:
    """Settle the loaded app's memory, then start this worker's scheduler runner.

    Every worker starts a runner, but only the holder of the scheduler lease runs
    jobs; the others wait and take over if that worker dies or restarts.
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
    )


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
    log.info("push bus: SQLite, the event table read every 20 ms by each worker")
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
    """Run gunicorn (gthread) in the foreground."""
    log.info("serving on http://%s:%s (%d worker(s) x %d threads)", host, port, workers, threads)
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            # Push streams send a heartbeat every 15 s; a silent connection is dead.
            "timeout": 60,
            "graceful_timeout": 5,
            "keepalive": 5,
            "accesslog": "-",
            # Path without the query string and no referer: a search by phone
            # (?q=+7913...) must not put the number into the log.
            "access_log_format": '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "errorlog": "-",
            "loglevel": "info",
            # Every open push stream is a connection: never fewer than the threads holding them.
            "worker_connections": max(1000, threads + 200),
            "post_worker_init": (
                _post_worker_init_with_scheduler if scheduler else _post_worker_init
            ),
            "worker_exit": _worker_exit,
        },
        settings=settings,
        config=config,
        demo=demo,
    ).run()
