"""Meeting-room reservations for a tense conversation (§35)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field


class RoomReservation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)
    released_at: datetime | None = None
    # The room the ticket was in before the move, to return to.
    from_room_id: int | None = Field(default=None, foreign_key="room.id")
    created_at: datetime = created_at_field()


class ColleagueInvite(SQLModel, table=True):
    """§35.3: a colleague invited into the conversation."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    reservation_id: int | None = Field(default=None, foreign_key="roomreservation.id")
    room_id: int = Field(foreign_key="room.id")
    from_staff_id: int = Field(foreign_key="staff.id")
    to_staff_id: int = Field(foreign_key="staff.id", index=True)
    message: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
    seen_at: datetime | None = None
