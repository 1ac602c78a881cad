"""Rate limits kept in the database, so every server of a deployment counts together."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from visits.calendar import utcnow
from visits.db import is_sqlite, write_transaction
from visits.errors import TooManyAttempts
from visits.models import RateLimitHit

log = logging.getLogger(__name__)


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
    dialect = sqlite if is_sqlite(session) else postgresql
    # One atomic upsert: two servers counting the same key never lose a hit.
    statement = (
        dialect.insert(RateLimitHit)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": RateLimitHit.__table__.c.count + 1},  # type: ignore[attr-defined]
        )
        .returning(RateLimitHit.__table__.c.count)  # type: ignore[attr-defined]
    )
    with write_transaction(session):
        count = int(session.execute(statement).scalar_one())
        # Old windows are of no use; drop them while we are here.
        session.execute(
            delete(RateLimitHit).where(
                col(RateLimitHit.key) == key, col(RateLimitHit.window_start) < start
            )
        )
    if count > limit:
        log.warning("rate limit: %s refused (%d in window)", key, count)
        raise TooManyAttempts(message, code="rate_limited")
    return count
