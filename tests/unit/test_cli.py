"""The `priyom` command: clear refusals for a wrong config and an unmigrated database."""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import visits.calendar
import visits.migrate
from visits.calendar import RUSSIA_YEARS, DaysOff
from visits.config import DEMO_CONFIG_PATH
from visits.migrate import alembic_config
from visits.web.app import LOG_FORMAT, setup_logging
from visits.web.cli import _read_apart, main


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "priyom.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("PRIYOM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PRIYOM_CONFIG", raising=False)
    return path


def test_serve_refuses_an_unmigrated_database(
    sqlite_url: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["serve", "--port", "1"]) == 3
    assert "is not migrated to the newest schema. Run: priyom migrate" in caplog.text


def test_serve_reads_the_schema_revision_and_the_days_off_in_a_child_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(visits.migrate, "_heads", [])
    monkeypatch.setattr(visits.calendar, "_days_off", [])
    _read_apart()
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert visits.migrate._heads == [frozenset(script.get_heads())]
    import holidays

    russia = holidays.country_holidays("RU", years=RUSSIA_YEARS)
    read_here = DaysOff(frozenset(russia), frozenset(russia.weekend_workdays))
    assert visits.calendar._days_off == [read_here]
    assert date(2026, 1, 9) in read_here.holidays  # a day off transferred by the decree


def test_wrong_config_names_the_key(
    sqlite_url: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "office.toml"
    bad.write_text(
        DEMO_CONFIG_PATH.read_text(encoding="utf-8").replace(
            "duration_minutes = 30", "duration_minutes = 0", 1
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR):
        assert main(["--config", str(bad), "migrate"]) == 2
    assert "services.0.duration_minutes" in caplog.text


def test_migrate_create_staff_and_backup(
    sqlite_url: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["migrate"]) == 0
    assert main(["create-staff", "operator", "--password", "long-enough-1"]) == 0
    with caplog.at_level(logging.ERROR):
        assert main(["create-staff", "operator", "--password", "short"]) == 1
        assert main(["create-staff", "nobody", "--password", "long-enough-1"]) == 1
    assert "не короче 8 символов" in caplog.text and "нет в настройках офиса" in caplog.text
    target = tmp_path / "backup" / "copy.sqlite3"
    assert main(["backup", str(target)]) == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM staff").fetchone()[0] >= 10


def test_config_option_is_an_argument_not_an_environment_write(
    sqlite_url: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    office = tmp_path / "office.toml"
    office.write_text(DEMO_CONFIG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["--config", str(office), "migrate"]) == 0
    assert "PRIYOM_CONFIG" not in os.environ
    with sqlite3.connect(sqlite_url) as db:
        assert db.execute("SELECT count(*) FROM staff").fetchone()[0] >= 10
    with caplog.at_level(logging.ERROR):
        assert main(["--config", str(tmp_path / "missing.toml"), "migrate"]) == 2
    assert "missing.toml не найден" in caplog.text


def test_wrong_environment_variable_stops_start_up_naming_it(
    sqlite_url: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PRIYOM_DB_POOL_SIZE", "ten")
    with caplog.at_level(logging.ERROR):
        assert main(["migrate"]) == 2
    assert "PRIYOM_DB_POOL_SIZE" in caplog.text
    assert not sqlite_url.exists()


def test_logging_replaces_the_plain_handler_python_escpos_installs() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    escpos_handler = logging.StreamHandler()  # what escpos' logging.basicConfig() adds
    kept = logging.NullHandler()  # a handler the host (or pytest) installed
    root.handlers = [escpos_handler, kept]
    try:
        setup_logging("WARNING")
        assert escpos_handler not in root.handlers and kept in root.handlers
        assert root.level == logging.WARNING
        # With another handler present basicConfig adds none; alone, ours comes with our format.
        root.handlers = [escpos_handler]
        setup_logging("INFO")
        plain = [h for h in root.handlers if type(h) is logging.StreamHandler]
        assert len(plain) == 1 and plain[0] is not escpos_handler
        assert plain[0].formatter is not None and plain[0].formatter._fmt == LOG_FORMAT
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
