"""The schema check a server makes without Alembic: the revision the database is at, the code's newest."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import visits.migrate
from tests.conftest import Database
from visits.db import make_engine
from visits.migrate import alembic_config, migrate_current, migrate_is_current


@pytest.fixture
def no_heads_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(visits.migrate, "_heads", [])


def _alembic_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@pytest.mark.usefixtures("no_heads_known")
def test_a_migrated_database_is_at_the_revision_alembic_reads(database: Database) -> None:
    with database.engine.connect() as connection:
        stamped = set(MigrationContext.configure(connection).get_current_heads())
    assert migrate_current(database.engine) == stamped == set(_alembic_heads())
    assert migrate_is_current(database.engine)


def test_a_database_before_its_first_migration_is_at_no_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert migrate_current(engine) == set()
        assert not migrate_is_current(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
        assert migrate_current(engine) == {"0001"}
        assert not migrate_is_current(engine)
    finally:
        engine.dispose()
