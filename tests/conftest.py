"""Shared fixtures: one database per test on SQLite and on PostgreSQL.

`--db=sqlite --db=postgres` picks the backends (default: sqlite). Every test
that asks for `session` runs once per backend, inside an outer transaction
that is rolled back afterwards (join_transaction_mode="create_savepoint").
Tests that need real commits from several threads ask for `fresh_db`.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from visits.calendar import WorkCalendar
from visits.config import OfficeConfig, load_config
from visits.db import make_engine, make_sessionmaker
from visits.migrate import migrate_upgrade
from visits.services.office import office_sync

PG_ADMIN_URL = os.environ.get(
    "PRIYOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_PASSWORD = "test-password-1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="append",
        choices=["sqlite", "postgres"],
        help="database backend(s) to run DB tests on (repeatable; default sqlite)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("db") or ["sqlite"]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def office_config() -> OfficeConfig:
    return load_config()


@pytest.fixture(scope="session")
def calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config)


@dataclass
class Database:
    """A migrated database with the demo office synced in."""

    backend: str
    url: str
    engine: Engine
    drop: Callable[[], None]


def _pg_admin_execute(sql: str) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def create_database(
    backend: str, tmp_dir: Path, config: OfficeConfig, *, template: Database | None = None
) -> Database:
    """Create, migrate and sync a database; copy a template when given (fast)."""
    name = f"priyom_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        path = tmp_dir / f"{name}.sqlite3"
        if template is not None:
            # The backup API copies committed pages, WAL included (a file copy would not).
            with (
                sqlite3.connect(make_url(template.url).database or "") as src,
                sqlite3.connect(path) as dst,
            ):
                src.backup(dst)
        url = f"sqlite:///{path}"
        engine = make_engine(url)

        def drop() -> None:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        if template is not None:
            template.engine.dispose()
            _pg_admin_execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template.url).database}"'
            )
        else:
            _pg_admin_execute(f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url, pool_size=25, max_overflow=10)

        def drop() -> None:
            engine.dispose()
            _pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    if template is None:
        migrate_upgrade(engine)
        with make_sessionmaker(engine)() as session:
            office_sync(session=session, config=config)
            from sqlmodel import select

            from visits.models import Staff
            from visits.services.staff import staff_set_password

            for staff in session.exec(select(Staff)).all():
                staff_set_password(session=session, login=staff.login, password=TEST_PASSWORD)
    return Database(backend=backend, url=url, engine=engine, drop=drop)


@pytest.fixture(scope="session")
def database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[Database]:
    db = create_database(backend, tmp_path_factory.mktemp(f"db-{backend}"), office_config)
    yield db
    db.drop()


@pytest.fixture
def fresh_db(database: Database, tmp_path: Path, office_config: OfficeConfig) -> Iterator[Database]:
    """A database of its own for tests that need real commits (concurrency, live servers)."""
    db = create_database(database.backend, tmp_path, office_config, template=database)
    yield db
    db.drop()


@pytest.fixture
def session_factory(database: Database) -> Iterator[Callable[[], Session]]:
    """Sessions joined to one outer transaction that is rolled back after the test."""
    connection = database.engine.connect()
    outer = connection.begin()
    factory = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture
def session(session_factory: Callable[[], Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def app(
    session_factory: Callable[[], Session],
    office_config: OfficeConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    monkeypatch.setenv("PRIYOM_VAR_DIR", str(tmp_path))
    from visits.web import create_app

    return create_app(
        config=office_config,
        session_factory=session_factory,
        demo=False,
        settings={"TESTING": True},
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the test client's browser session (made if missing)."""
    with client.session_transaction() as sess:
        if "csrf" not in sess:
            sess["csrf"] = uuid.uuid4().hex
        return str(sess["csrf"])


def login_as(client: FlaskClient, login: str) -> None:
    """Log a test client in as a staff member of the demo office."""
    response = client.post(
        "/login", data={"login": login, "password": TEST_PASSWORD, "csrf_token": csrf_of(client)}
    )
    assert response.status_code in (204, 303), response.get_data(as_text=True)


def htmx_headers(client: FlaskClient, **extra: str) -> dict[str, str]:
    """Headers of an htmx request with the CSRF token, as the browser sends them."""
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(client)}
    headers.update(extra)
    return headers
