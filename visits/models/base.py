"""Shared column helpers for the tables.

Times are kept in UTC, aware (sqlmodel's UTCDateTime refuses naive values);
they are converted to the office's time zone only at the edges.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field
from sqlmodel.sql.sqltypes import AutoString

from visits.calendar import utcnow

STATUS_LENGTH = 20


class StatusType(TypeDecorator[StrEnum]):
    """A status column: the same VARCHAR(20) as before, read back as its StrEnum member.

    The database keeps the plain value ("waiting"), so the schema and the
    migrations do not change; code compares and assigns members, never `.value`.
    """

    impl = AutoString(length=STATUS_LENGTH)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        # A value outside the enum fails here, before it reaches a row.
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)

    @property
    def python_type(self) -> type[StrEnum]:
        return self.enum_class


def created_at_field() -> Any:
    return Field(default_factory=utcnow, nullable=False)


def json_field(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON, nullable=False)


def status_field(default: StrEnum, *, index: bool = True) -> Any:
    return Field(default=default, sa_type=StatusType(type(default)), index=index, nullable=False)


__all__ = ["StatusType", "created_at_field", "datetime", "json_field", "status_field"]
