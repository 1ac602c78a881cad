"""Rate limits kept in the database, so every server of a deployment counts together."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Any

from sqlalchemy import bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from visits.calendar import utcnow
from visits.db import is_sqlite, write_transaction
from visits.errors import TooManyAttempts
from visits.models import RateLimitHit, Throttle

log = logging.getLogger(__name__)


def _upsert_dialect(session: Session) -> ModuleType:
    """Pick the dialect whose insert has ON CONFLICT DO UPDATE for this session's database."""
    return sqlite if is_sqlite(session) else postgresql


def _hit_statement(dialect: ModuleType) -> Any:
    """One atomic upsert of a window's count: two servers counting the same key never lose a hit."""
    table = RateLimitHit.__table__  # type: ignore[attr-defined]
    return (
        dialect.insert(RateLimitHit)
        .values(key=bindparam("hit_key"), window_start=bindparam("hit_start"), count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )


# Built once: every kiosk look-up counts a hit, and building the statement anew cost
# more than running it (1.9 ms -> 0.6 ms a hit).
_HIT = {"sqlite": _hit_statement(sqlite), "postgresql": _hit_statement(postgresql)}
_OLD_WINDOWS = delete(RateLimitHit).where(
    col(RateLimitHit.key) == bindparam("hit_key"),
    col(RateLimitHit.window_start) < bindparam("hit_start"),
)


def ratelimit_hit(
    *,
    session: Session,
    key: str,
    limit: int,
    window: timedelta,
    message: str,
    now: datetime | None = None,
) -> int:
    """Count one attempt for `key` in the current fixed window; raise TooManyAttempts over `limit`.

    The attempt is counted (and committed) even when it is refused, so hammering
    a refused key keeps it refused until the window ends.
    """
    now = now or utcnow()
    seconds = int(window.total_seconds())
    if seconds <= 0 or limit < 1:
        raise ValueError("rate limit needs a positive window and limit")
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)
    values = {"hit_key": key, "hit_start": start}
    with write_transaction(session):
        connection = session.connection()
        count = int(connection.execute(_HIT[connection.dialect.name], values).scalar_one())
        if count == 1:
            # A key's older windows can be left only when its new window starts: drop them.
            connection.execute(_OLD_WINDOWS, values)
    if count > limit:
        log.warning("rate limit: %s refused (%d in window)", key, count)
        raise TooManyAttempts(message, code="rate_limited")
    return count


# --- growing waits ------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """How long a key waits after its failures: none for the first `free`, then doubling.

    A wait, unlike a lock, is short and ends by itself, so a stranger who fails on
    purpose with someone's login costs that person at most `longest`, never the day.
    """

    free: int
    first: timedelta
    longest: timedelta
    # Failures older than this are forgotten: the count starts again.
    forget: timedelta

    def wait(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 30)
        return min(self.first * (1 << doublings), self.longest)


def throttle_key(kind: str, value: str) -> str:
    """A key of bounded length for any value (a login may be 10 000 characters of anything)."""
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest[:40]}"


def throttle_check(
    *,
    session: Session,
    key: str,
    backoff: Backoff,
    message: str,
    now: datetime | None = None,
) -> None:
    """Raise TooManyAttempts while `key` still has to wait after its last failure.

    `message` may name the wait with `{seconds}`; the same message for every key
    of a kind, so the answer tells nothing about whether a login exists.
    """
    now = now or utcnow()
    row = session.get(Throttle, key)
    if row is None or now - row.last_at > backoff.forget:
        return
    remaining = row.last_at + backoff.wait(row.failures) - now
    if remaining > timedelta(0):
        seconds = max(1, math.ceil(remaining.total_seconds()))
        log.warning("throttle: %s waits %d s after %d failures", key, seconds, row.failures)
        raise TooManyAttempts(message.format(seconds=seconds), code="throttled")


def throttle_fail(
    *, session: Session, key: str, backoff: Backoff, now: datetime | None = None
) -> int:
    """Count one failure for `key` (one atomic upsert, so servers count together); return the count."""
    now = now or utcnow()
    table = Throttle.__table__  # type: ignore[attr-defined]
    statement = (
        _upsert_dialect(session)
        .insert(Throttle)
        .values(key=key, failures=1, last_at=now)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": case(
                    (table.c.last_at < now - backoff.forget, 1), else_=table.c.failures + 1
                ),
                "last_at": now,
            },
        )
        .returning(table.c.failures)
    )
    with write_transaction(session):
        failures = int(session.execute(statement).scalar_one())
    return failures


def throttle_clear(*, session: Session, key: str) -> None:
    """Forget a key's failures (a correct password)."""
    with write_transaction(session):
        session.execute(delete(Throttle).where(col(Throttle.key) == key))


# --- the limits of a deployment ------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Every limit on a guessable thing, in one place (tuned with PRIYOM_LIMITS, deploy/README).

    Counted in the database, so several servers count together.
    """

    # Logins: waits per login (whether it exists or not) and per address, never a lock.
    login_free: int = 5
    login_first_wait_seconds: int = 2
    login_longest_wait_seconds: int = 60
    login_address_free: int = 20
    login_memory_minutes: int = 15
    # This many failures of one login or address within the memory tell the administrators.
    login_burst: int = 20
    # Pairing codes: waits per address, and a cap on attempts from everywhere together.
    pairing_address_free: int = 5
    pairing_longest_wait_seconds: int = 300
    pairing_attempts_per_10_min: int = 100
    # A kiosk's look-ups (booking code, phone, choosing a booking, late code) together.
    kiosk_lookups_per_10_min: int = 40
    # Walk-in bookings made at one kiosk, and for one phone number, per office day.
    walkins_per_kiosk_per_day: int = 60
    # and in a short while at one kiosk: a script cannot take a day's free time in seconds.
    walkins_per_kiosk_per_10_min: int = 6
    walkins_per_phone_per_day: int = 2

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, int] | None) -> Limits:
        """The defaults with some values replaced; an unknown name or a value below 1 is an error."""
        values = dict(overrides or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"неизвестные ограничения: {', '.join(unknown)}")
        bad = sorted(k for k, v in values.items() if not isinstance(v, int) or v < 1)
        if bad:
            raise ValueError(f"ограничения должны быть целыми числами от 1: {', '.join(bad)}")
        return cls(**values)

    @property
    def login_account(self) -> Backoff:
        return Backoff(
            free=self.login_free,
            first=timedelta(seconds=self.login_first_wait_seconds),
            longest=timedelta(seconds=self.login_longest_wait_seconds),
            forget=timedelta(minutes=self.login_memory_minutes),
        )

    @property
    def login_address(self) -> Backoff:
        return Backoff(
            free=self.login_address_free,
            first=timedelta(seconds=self.login_first_wait_seconds),
            longest=timedelta(seconds=self.login_longest_wait_seconds * 2),
            forget=timedelta(minutes=self.login_memory_minutes),
        )

    @property
    def pairing_address(self) -> Backoff:
        return Backoff(
            free=self.pairing_address_free,
            first=timedelta(seconds=5),
            longest=timedelta(seconds=self.pairing_longest_wait_seconds),
            forget=timedelta(hours=1),
        )


DEFAULT_LIMITS = Limits()
# The window of every `*_per_10_min` limit.
TEN_MINUTES = timedelta(minutes=10)

PAIRING_WAIT = "Слишком много неверных кодов привязки. Подождите {seconds} с и введите код снова."
PAIRING_BUSY = (
    "Сейчас слишком много попыток привязки. Подождите 10 минут или попросите администратора "
    "выдать новый код."
)
KIOSK_LOOKUPS_REFUSED = (
    "Слишком много поисков записи с этого терминала. Подождите несколько минут "
    "или подойдите к администратору в зале приёма."
)
WALKINS_KIOSK_REFUSED = (
    "С этого терминала сегодня записано много посетителей без записи. "
    "Подойдите, пожалуйста, к администратору в зале приёма: он запишет вас."
)
WALKINS_BURST_REFUSED = (
    "Сейчас с этого терминала записано много посетителей подряд. Подождите несколько минут "
    "или подойдите к администратору в зале приёма."
)
WALKINS_PHONE_REFUSED = (
    "На этот номер сегодня уже записаны посетители без записи. "
    "Подойдите, пожалуйста, к администратору в зале приёма."
)


def _pairing_key(address: str) -> str:
    """Return the key a pairing address is checked and counted under: the same for both."""
    return throttle_key("pair-addr", address)


def pairing_attempt_check(
    *, session: Session, address: str, limits: Limits = DEFAULT_LIMITS, now: datetime | None = None
) -> None:
    """Refuse a pairing attempt from an address that must wait, or when all are too many."""
    throttle_check(
        session=session,
        key=_pairing_key(address),
        backoff=limits.pairing_address,
        message=PAIRING_WAIT,
        now=now,
    )
    ratelimit_hit(
        session=session,
        key="pair-all",
        limit=limits.pairing_attempts_per_10_min,
        window=TEN_MINUTES,
        message=PAIRING_BUSY,
        now=now,
    )


def pairing_failed(
    *, session: Session, address: str, limits: Limits = DEFAULT_LIMITS, now: datetime | None = None
) -> None:
    """Count a wrong pairing code against its address."""
    throttle_fail(
        session=session,
        key=_pairing_key(address),
        backoff=limits.pairing_address,
        now=now,
    )


def kiosk_lookup_hit(
    *,
    session: Session,
    device_id: int,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> None:
    """Count one look-up of a kiosk (code, phone, choice, late code): all of them together."""
    ratelimit_hit(
        session=session,
        key=f"kiosk-lookup:{device_id}",
        limit=limits.kiosk_lookups_per_10_min,
        window=TEN_MINUTES,
        message=KIOSK_LOOKUPS_REFUSED,
        now=now,
    )


def walkin_kiosk_hit(
    *,
    session: Session,
    device_id: int,
    office_day: date,
    limits: Limits = DEFAULT_LIMITS,
    now: datetime | None = None,
) -> None:
    """Count one walk-in at a kiosk; refuse over the cap for 10 minutes or for the office day."""
    ratelimit_hit(
        session=session,
        key=f"walkin-kiosk-burst:{device_id}",
        limit=limits.walkins_per_kiosk_per_10_min,
        window=TEN_MINUTES,
        message=WALKINS_BURST_REFUSED,
        now=now,
    )
    # Every hit of the day falls in one window, whatever the hour: the window is the day's.
    ratelimit_hit(
        session=session,
        key=f"walkin-kiosk:{device_id}:{office_day.isoformat()}",
        limit=limits.walkins_per_kiosk_per_day,
        window=timedelta(days=1),
        message=WALKINS_KIOSK_REFUSED,
        now=datetime.combine(office_day, time(), tzinfo=UTC),
    )


# Counters and waits older than this can no longer refuse anything (the longest window
# is an office day): deleting them keeps the tables small whatever keys a stranger invents.
STALE_AFTER = timedelta(days=2)


def limits_purge(*, session: Session, now: datetime | None = None) -> int:
    """Delete counters and waits too old to matter; return how many rows went."""
    cutoff = (now or utcnow()) - STALE_AFTER
    with write_transaction(session):
        hits = session.execute(delete(RateLimitHit).where(col(RateLimitHit.window_start) < cutoff))
        waits = session.execute(delete(Throttle).where(col(Throttle.last_at) < cutoff))
    removed = int(hits.rowcount or 0) + int(waits.rowcount or 0)  # type: ignore[attr-defined]
    if removed:
        log.info("limits: %d stale counters removed", removed)
    return removed
