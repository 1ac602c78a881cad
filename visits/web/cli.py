"""The `priyom` command: serve, demo, migrate, create-staff and the rest."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import getpass
import logging
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from visits.config import ConfigError, OfficeConfig, load_config, public_url_problem
from visits.db import make_sessionmaker, settings_engine
from visits.errors import PriyomError
from visits.settings import Settings, SettingsError, settings_load
from visits.web.app import setup_logging

log = logging.getLogger("priyom")


@dataclass(frozen=True)
class _Run:
    """What every command receives: its arguments, the environment and the office."""

    args: argparse.Namespace
    settings: Settings
    config: OfficeConfig


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `priyom` console command."""
    try:
        settings = settings_load()
    except SettingsError as exc:
        setup_logging()
        log.error("%s", exc)
        return 2
    args = _parser(settings).parse_args(argv)
    setup_logging(settings.log_level)
    try:
        config = load_config(args.config or settings.config)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    handler = {
        "serve": _serve,
        "demo": _demo,
        "migrate": _migrate,
        "create-staff": _create_staff,
        "scheduler": _scheduler,
        "backup": _backup,
        "purge": _purge,
    }[args.command]
    try:
        return handler(_Run(args=args, settings=settings, config=config))
    except PriyomError as exc:
        log.error("%s", exc.message)
        return 1


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="priyom", description="Приём: электронная очередь и запись на приём"
    )
    parser.add_argument("--config", help="office TOML (default: $PRIYOM_CONFIG or the demo office)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (all screens)")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument("--workers", type=int, default=settings.workers)
    serve.add_argument("--threads", type=int, default=settings.threads)
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run reminders and housekeeping here (run `priyom scheduler` instead)",
    )
    serve.add_argument(
        "--demo", action="store_true", help="demo mode: open around the clock, one-click devices"
    )

    demo = sub.add_parser("demo", help="create the database with demo data")
    demo.add_argument("--reset", action="store_true", help="delete the SQLite file first")

    sub.add_parser("migrate", help="apply database migrations")

    create_staff = sub.add_parser(
        "create-staff", help="set a password for a staff member from the config"
    )
    create_staff.add_argument("login")
    create_staff.add_argument("--password", help="(default: asked, or $PRIYOM_PASSWORD)")

    sub.add_parser("scheduler", help="run reminders and housekeeping as their own process")

    purge = sub.add_parser(
        "purge", help="delete history and personal data older than five years (§4)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only report what would be deleted")

    backup = sub.add_parser("backup", help="copy the SQLite database safely while it runs")
    backup.add_argument("target", help="file to write, e.g. /var/backups/priyom-2026-11-28.sqlite3")
    return parser


def _engine(run: _Run) -> Engine:
    return settings_engine(run.settings)


def _migrate(run: _Run) -> int:
    from visits.migrate import migrate_upgrade
    from visits.services.office import office_sync

    engine = _engine(run)
    migrate_upgrade(engine)
    with make_sessionmaker(engine)() as session:
        office_sync(session=session, config=run.config)
    log.info("database is at the newest migration: %s", run.settings.database_url)
    return 0


def _demo(run: _Run) -> int:
    from visits.calendar import WorkCalendar
    from visits.demo import demo_seed

    url = run.settings.database_url
    if run.args.reset and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    _migrate(run)
    engine = _engine(run)
    with make_sessionmaker(engine)() as session:
        codes = demo_seed(session=session, calendar=WorkCalendar(run.config, always_open=True))
    for name, code in codes.items():
        log.info("demo booking: %s, code %s", name, code)
    log.info("demo data ready; staff password: %s", run.config.demo.password)
    return 0


def _create_staff(run: _Run) -> int:
    from visits.services.staff import staff_set_password

    password = run.args.password
    if not password and run.settings.password is not None:
        password = run.settings.password.get_secret_value()
    if not password:
        password = getpass.getpass(f"Пароль для {run.args.login}: ")
    with make_sessionmaker(_engine(run))() as session:
        staff = staff_set_password(session=session, login=run.args.login, password=password)
    log.info("password set for %s (%s)", staff.login, staff.full_name)
    return 0


def _check_migrated(run: _Run) -> bool:
    from visits.migrate import migrate_is_current

    engine = _engine(run)
    try:
        current = migrate_is_current(engine)
    finally:
        engine.dispose()
    if not current:
        log.error(
            "The database %s is not migrated to the newest schema. Run: priyom migrate",
            run.settings.database_url,
        )
    return current


def _serve(run: _Run) -> int:
    _read_apart()
    if not _check_migrated(run):
        return 3
    if not _check_public_url(run):
        return 2
    from visits.web.server import run_server

    _two_malloc_arenas()
    args = run.args
    run_server(
        settings=run.settings,
        config=run.config,
        demo=args.demo or run.settings.demo,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        scheduler=not args.no_scheduler,
    )
    return 0


def _read_apart() -> None:
    """Read in a short-lived child process what the server needs of two big packages.

    The code's newest schema revision (Alembic, with Mako and Pygments: 8 MiB) and
    Russia's days off (the holidays package imports every country's calendar for
    them: 12 MiB). This process becomes the server's master, and what it loads
    stays loaded in it and in every worker it forks: it keeps only the answers.
    If the child fails, nothing is kept and each is read here when first needed
    (raising what the child met).
    """
    from visits.calendar import russia_days_off, russia_days_off_known
    from visits.migrate import migrate_heads, migrate_heads_known

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, tell the parent, leave without the parent's exit handlers
        code = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump((migrate_heads(), russia_days_off()), pipe)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        told = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        heads, days_off = pickle.loads(told)  # our own child's answer
        migrate_heads_known(heads)
        russia_days_off_known(days_off)


def _two_malloc_arenas() -> None:
    """Let glibc's malloc keep two arenas in each server process, not eight per core.

    A thread's first malloc gives it an arena of its own while there are fewer than
    the limit, and each arena keeps what was freed in it for its own later use: a
    worker's request threads spread its memory over sixteen heaps. The interpreter
    lock lets one thread allocate at a time anyway. Measured on SQLite after a short
    load (20 logins, 300 check-ins, 60 calls): 101 -> 95 MB resident. Set before
    gunicorn starts, so the workers it forks inherit it; MALLOC_ARENA_MAX, when the
    deployment sets it, wins. Not glibc (musl, macOS): nothing to set.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return
    m_arena_max = -8  # from glibc's malloc.h
    mallopt(m_arena_max, 2)


def _check_public_url(run: _Run) -> bool:
    """Outside the demo, tickets' QR codes and messages' links must open on visitors' phones."""
    if run.settings.demo or run.settings.local_links or getattr(run.args, "demo", False):
        return True
    problem = public_url_problem(run.config.office)
    if problem:
        log.error("%s", problem)
    return problem is None


def _scheduler(run: _Run) -> int:
    """Run reminders and housekeeping; a second copy waits for the lease (one per deployment)."""
    if not _check_migrated(run):
        return 3
    if not _check_public_url(run):
        return 2
    from visits.jobs import run_scheduler_forever

    run_scheduler_forever(config=run.config, settings=run.settings)
    return 0


def _backup(run: _Run) -> int:
    """Online backup of the SQLite file (PostgreSQL: use pg_dump, see the deployment guide)."""
    import sqlite3

    url = run.settings.database_url
    if not url.startswith("sqlite:///"):
        log.error(
            "priyom backup copies the SQLite file; for PostgreSQL run pg_dump (README, Deployment)"
        )
        return 2
    source = Path(url.removeprefix("sqlite:///"))
    if not source.exists():
        log.error("database file %s not found", source)
        return 1
    target = Path(run.args.target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The backup API copies a consistent snapshot while the server keeps writing (WAL included).
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    log.info("backup written: %s (%d bytes)", target, target.stat().st_size)
    return 0


def _purge(run: _Run) -> int:
    if not _check_migrated(run):
        return 3
    from visits.services.retention import history_purge

    with make_sessionmaker(_engine(run))() as session:
        report = history_purge(session=session, dry_run=run.args.dry_run)
    for line in report.lines():
        log.info("%s", line)
    if run.args.dry_run:
        log.info("Пробный запуск: ничего не удалено. Удалить: priyom purge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
