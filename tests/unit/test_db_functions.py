"""SQL helpers that must give the same answer on every database the product runs on."""

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, select
from sqlmodel.sql.sqltypes import UTCDateTime

from tests.conftest import Database
from visits.db import epoch_seconds, epoch_seconds_list, make_engine

TIMES = [datetime(2026, 12, 30, 3, 0, tzinfo=UTC), datetime(2026, 12, 30, 3, 15, 30, tzinfo=UTC)]
EXPECTED = [int(moment.timestamp()) for moment in TIMES]


def _read_back(engine: Engine) -> tuple[list[int], list[int]]:
    """Store TIMES as the models store times; read them as seconds, one by one and joined."""
    meta = MetaData()
    probe = Table(
        "epoch_probe", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(probe.insert(), [{"at": moment} for moment in TIMES])
            seconds = conn.execute(select(epoch_seconds(probe.c.at)).order_by(probe.c.id))
            joined = conn.execute(select(epoch_seconds_list(probe.c.at))).scalar_one()
            return [int(s) for s in seconds.scalars()], sorted(map(int, joined.split(",")))
    finally:
        meta.drop_all(engine)


def test_times_read_as_epoch_seconds(fresh_db: Database) -> None:
    assert _read_back(fresh_db.engine) == (EXPECTED, EXPECTED)


def test_an_older_sqlite_without_unixepoch_gives_the_same_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    engine = make_engine("sqlite://")  # its own statement cache: compiled with strftime('%s')
    try:
        assert _read_back(engine) == (EXPECTED, EXPECTED)
    finally:
        engine.dispose()
