"""A booking of a personal visit (§28-32)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, status_field


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Booking(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # 6 characters without look-alikes (no 0/O, 1/I/L): read aloud over the phone.
    code: str = Field(max_length=6, unique=True, index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    room_id: int = Field(foreign_key="room.id")
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    status: BookingStatus = status_field(BookingStatus.BOOKED)
    remind_day_before: bool = False
    remind_two_hours_before: bool = False
    # A walk-in booked at the kiosk for a free slot of the same day.
    walk_in: bool = False
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    # Guards a form posted twice (double click): one booking per submit key.
    submit_key: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = None
    cancelled_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    cancel_reason: str = Field(default="", max_length=500)
    # §34.4 "заблаговременно": the specialist marked the visit prepared (documents printed,
    # questions listed) before the day.
    prepared_at: datetime | None = None

    @property
    def qr_payload(self) -> str:
        """What the confirmation's QR code carries; the kiosk scanner types it."""
        return f"PRIYOM:{self.code}"


class SlotHold(SQLModel, table=True):
    """One slot-sized cell of a specialist's time held by a booking.

    The unique constraint is what makes double booking impossible: two
    operators confirming the same specialist and time race on this insert
    and the database lets exactly one win. Cancelling deletes the holds.
    """

    __table_args__ = (UniqueConstraint("staff_id", "starts_at", name="uq_slothold_staff_time"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id")
    starts_at: datetime
    booking_id: int = Field(foreign_key="booking.id", index=True)
