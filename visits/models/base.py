"""Shared column helpers for the tables.

Times are kept in UTC, aware (sqlmodel's UTCDateTime refuses naive values);
they are converted to the office's time zone only at the edges.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field

from visits.calendar import utcnow


def created_at_field() -> Any:
    return Field(default_factory=utcnow, nullable=False)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON, nullable=False)


def status_field(default: StrEnum, *, index: bool = True) -> Any:
    return Field(default=default.value, max_length=20, index=index, nullable=False)


__all__ = ["created_at_field", "datetime", "json_field", "status_field"]
