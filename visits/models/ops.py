"""Operational state that must not live in one server's memory."""

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, json_field


class StaffSession(SQLModel, table=True):
    """A staff login; the cookie carries only the random id, hashed here."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=128, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    ended_at: datetime | None = None


class RateLimitHit(SQLModel, table=True):
    """A counter per key and fixed window (phone lookups per kiosk, logins)."""

    __table_args__ = (UniqueConstraint("key", "window_start", name="uq_ratelimit_key_window"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    window_start: datetime
    count: int = 0


class Throttle(SQLModel, table=True):
    """Failed attempts per key and the time of the last one: the wait grows with each failure.

    Logins and pairing codes: unlike a lock, a wait anyone can cause stays short
    (visits.services.ratelimit), and failures older than the key's memory are forgotten.
    """

    key: str = Field(primary_key=True, max_length=120)
    failures: int = 0
    last_at: datetime


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduler now: one holder per deployment."""

    name: str = Field(primary_key=True, max_length=50)
    holder: str = Field(max_length=120)
    expires_at: datetime
    heartbeat_at: datetime = created_at_field()


class PushEvent(SQLModel, table=True):
    """An event for live screens. Ids only: screens fetch what they may show.

    The autoincrement id is the SSE event id, so a display that reconnects
    with Last-Event-ID gets exactly what it missed, from any server.
    """

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    kind: str = Field(max_length=30)
    # Audience keys: "staff:<id>", "room:<id>", "floor:<n>", "displays", "admin".
    topics: list[str] = json_field(list)
    payload: dict[str, Any] = json_field(dict)
