"""Outgoing messages (§3, §13, §16, §17, §30) and phone-call tasks."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, status_field


class MessageKind(StrEnum):
    CONFIRMATION = "confirmation"
    REMINDER_DAY = "reminder_day"
    REMINDER_TWO_HOURS = "reminder_2h"
    CANCELLATION = "cancellation"
    ROOM_CHANGE = "room_change"
    FINAL = "final"
    HISTORY_EXPORT = "history_export"
    REFERRAL = "referral"  # §26: the competent body's contacts, sent after a call


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutgoingMessage(SQLModel, table=True):
    """One message to one channel: a row of the outbox.

    A message for a client with two channels is two rows (§13, §16, §30).
    """

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    kind: str = Field(max_length=20)
    channel: str = Field(max_length=10)
    recipient: str = Field(max_length=254)
    subject: str = Field(default="", max_length=300)
    body: str = Field(max_length=8000)
    # The channel's compact form: the SMS text, or the phone operator's task. Empty: the body.
    short_body: str = Field(default="", max_length=1000)
    status: MessageStatus = status_field(MessageStatus.QUEUED)
    # When it should go (reminders are due later than they are queued).
    due_at: datetime = Field(index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = None
    error: str = Field(default="", max_length=1000)
    skip_reason: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()


class CallTask(SQLModel, table=True):
    """A task for the phone operators: call a client (phone channel or a failed message)."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="outgoingmessage.id")
    text: str = Field(max_length=1000)
    due_at: datetime = Field(index=True)
    created_at: datetime = created_at_field()
    done_at: datetime | None = None
    done_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str = Field(default="", max_length=300)
