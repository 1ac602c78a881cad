"""The production server's worker setup (gunicorn hooks)."""

import gc
import os
from pathlib import Path
from types import SimpleNamespace

from visits.config import OfficeConfig
from visits.push import SqlitePollBus
from visits.settings import Settings
from visits.web.server import _Gunicorn, _post_worker_init


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
