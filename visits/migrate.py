"""Schema migrations (Alembic) driven from code: `priyom migrate`, tests, the serve check.

Alembic is imported inside the functions that run it: with Mako and Pygments it is
8 MiB in every process that loads it, and a web server only compares the
database's revision with the code's newest (migrate_is_current), at start and in
/readyz. The server's master reads the newest one in a child process (see
`priyom serve`), so neither it nor the workers it forks load Alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Alembic's table of the revisions a database is at (its default name; migrations/env.py keeps it).
VERSION_TABLE = "alembic_version"

# The code's newest revisions, once read: the code does not change while a process runs.
_heads: list[frozenset[str]] = []


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate_upgrade(engine: Engine) -> None:
    """Apply every migration up to head."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def migrate_heads() -> frozenset[str]:
    """The newest revisions of the code's migrations."""
    if not _heads:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config("sqlite://"))
        _heads.append(frozenset(script.get_heads()))
    return _heads[0]


def migrate_heads_known(heads: frozenset[str]) -> None:
    """Keep the newest revisions read elsewhere (the server's master reads them in a child process)."""
    if not _heads:
        _heads.append(heads)


def migrate_current(engine: Engine) -> set[str]:
    """The revisions the database is at: Alembic's version table (none before the first migration)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {str(version) for (version,) in rows}


def migrate_is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest migration."""
    return migrate_current(engine) == migrate_heads()
