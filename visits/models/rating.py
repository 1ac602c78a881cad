"""Ratings of a visit (§36) and the tablet prompts that ask for them."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, json_field, status_field


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # One rating per ticket, by whichever way comes first.
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    score: int
    reasons: list[str] = json_field(list)
    comment: str = Field(default="", max_length=2000)
    # tablet / phone (ticket page) / link (final message, §17)
    source: str = Field(max_length=10)
    device_id: int | None = Field(default=None, foreign_key="device.id")
    # Copied at rating time so reports group by who served and where.
    staff_id: int = Field(foreign_key="staff.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    created_at: datetime = created_at_field()


class PromptStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    SKIPPED = "skipped"


class RatingPrompt(SQLModel, table=True):
    """A rating offer shown on a room's tablet after a visit is finished."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    status: PromptStatus = status_field(PromptStatus.OPEN)
    created_at: datetime = created_at_field()
    expires_at: datetime
    closed_at: datetime | None = None
