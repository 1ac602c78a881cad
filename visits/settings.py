"""The environment's settings: every `PRIYOM_*` variable and `DATABASE_URL`, typed, read once.

The office itself (rooms, hours, staff) lives in the office TOML (visits.config);
this is what differs between machines of one deployment. The `priyom` command,
the WSGI entry point and the scheduler call `settings_load()` once at start and
pass the object down: Flask keeps it in the app's Priyom context, the core
receives plain arguments. A wrong value stops start-up with a message naming
the variable (`SettingsError`), like a wrong office file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "priyom.sqlite3"
# The push streams never wait longer than their own heartbeat, nor less than this.
MIN_SSE_HEARTBEAT_SECONDS = 0.2


class SettingsError(Exception):
    """An environment variable cannot be used; the message names it."""


class Settings(BaseSettings):
    """One deployment's environment (deploy/priyom.env.example lists them for production)."""

    model_config = SettingsConfigDict(
        env_prefix="PRIYOM_",
        # An empty variable counts as unset, as `VAR=` in an env file means.
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        # Settings(database_url=...) in code and tests; DATABASE_URL in the environment.
        populate_by_name=True,
        validate_default=True,
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL"),
        description="DATABASE_URL: SQLAlchemy URL; postgresql:// means psycopg 3",
    )
    config: Path | None = Field(
        default=None, description="PRIYOM_CONFIG: the office TOML (default: the demo office)"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="PRIYOM_SECRET_KEY: signs the session cookie; the same on every server "
        "(default: a key kept in the var dir)",
    )
    secure_cookies: bool = Field(
        default=False, description="PRIYOM_SECURE_COOKIES=1: cookies only over HTTPS"
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="PRIYOM_VAR_DIR: the secret key file and the speech audio cache",
    )
    log_level: str = Field(default="INFO", description="PRIYOM_LOG_LEVEL: DEBUG, INFO, WARNING")
    demo: bool = Field(
        default=False,
        description="PRIYOM_DEMO=1: demo mode (open around the clock, one-click devices)",
    )
    always_open: bool = Field(
        default=False,
        description="PRIYOM_ALWAYS_OPEN=1: the office is open around the clock (browser tests)",
    )
    local_links: bool = Field(
        default=False,
        description="PRIYOM_LOCAL_LINKS=1: accept a loopback office.public_base_url "
        "(browser tests on one machine; the demo always does)",
    )
    push_bus: Literal["auto", "memory"] = Field(
        default="auto",
        description="PRIYOM_PUSH_BUS: auto (LISTEN/NOTIFY on PostgreSQL) or memory (one server)",
    )
    sse_heartbeat: float | None = Field(
        default=None,
        gt=0,
        description="PRIYOM_SSE_HEARTBEAT: shorter push stream wake-ups, in seconds "
        "(the browser tests write from another process)",
    )
    scheduler_lease_seconds: float = Field(
        default=45.0,
        ge=1.0,
        le=600.0,
        description="PRIYOM_SCHEDULER_LEASE_SECONDS: a dead scheduler is replaced "
        "after about 1.25 x this",
    )
    db_pool_size: int = Field(
        default=10, ge=1, description="PRIYOM_DB_POOL_SIZE: PostgreSQL connections per worker"
    )
    db_max_overflow: int = Field(
        default=20, ge=0, description="PRIYOM_DB_MAX_OVERFLOW: extra connections under load"
    )
    espeak: str = Field(
        default="espeak-ng", description="PRIYOM_ESPEAK: the espeak-ng program for speech audio"
    )
    pdf_font: Path | None = Field(
        default=None,
        description="PRIYOM_PDF_FONT: a Cyrillic TTF for PDF exports "
        "(default: the shipped DejaVu Sans)",
    )
    host: str = Field(default="127.0.0.1", description="PRIYOM_HOST: `priyom serve --host`")
    port: int = Field(default=8000, ge=1, le=65535, description="PRIYOM_PORT: `serve --port`")
    workers: int = Field(default=1, ge=1, description="PRIYOM_WORKERS: `serve --workers`")
    threads: int = Field(default=256, ge=1, description="PRIYOM_THREADS: `serve --threads`")
    session_hours: float = Field(
        default=12.0,
        gt=0,
        le=168,
        description="PRIYOM_SESSION_HOURS: a staff login ends this long after it began, "
        "however busy (a working day)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="PRIYOM_METRICS_TOKEN: /metrics answers a request with "
        "`Authorization: Bearer <token>`",
    )
    metrics_allow: str = Field(
        default="127.0.0.1/32,::1/128",
        description="PRIYOM_METRICS_ALLOW: addresses (comma-separated networks) that read "
        "/metrics without the token",
    )
    proxies: int = Field(
        default=0,
        ge=0,
        le=5,
        description="PRIYOM_PROXIES: how many proxies (nginx) stand in front; their "
        "X-Forwarded-For names the client's address for the limits and /metrics",
    )
    limits: dict[str, int] = Field(
        default_factory=dict,
        description='PRIYOM_LIMITS: JSON overriding limits, e.g. {"walkins_per_phone_per_day": 3} '
        "(names in visits.services.ratelimit.Limits, deploy/README.md)",
    )
    password: SecretStr | None = Field(
        default=None, description="PRIYOM_PASSWORD: `priyom create-staff` without asking"
    )

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        # Hosting panels hand out postgresql:// URLs; SQLAlchemy would pick psycopg2 for them.
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def open_around_the_clock(self) -> bool:
        """The demo and the browser tests (which run at any hour) ignore the office hours."""
        return self.demo or self.always_open

    @property
    def speech_cache_dir(self) -> Path:
        """Where phrase audio is kept: <var dir>/speech."""
        return self.var_dir / "speech"

    def sse_heartbeat_within(self, longest: float) -> float:
        """The push streams' wake-up: PRIYOM_SSE_HEARTBEAT when set, never over `longest`."""
        if self.sse_heartbeat is None:
            return longest
        return min(max(self.sse_heartbeat, MIN_SSE_HEARTBEAT_SECONDS), longest)


def settings_load() -> Settings:
    """Read the environment once; raise SettingsError naming the variable that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            name = "DATABASE_URL" if field == "DATABASE_URL" else f"PRIYOM_{field.upper()}"
            problems.append(f"  {name}: {error['msg']}")
        raise SettingsError("Ошибки в переменных окружения:\n" + "\n".join(problems)) from exc
