"""A ticket: issued at check-in, called, served (§31, §33-35)."""

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, status_field


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_SERVICE = "in_service"
    DONE = "done"
    NO_SHOW = "no_show"


class Ticket(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("office_day", "number", name="uq_ticket_day_number"),)

    id: int | None = Field(default=None, primary_key=True)
    # "А-001": the service letter and a sequence that starts from 001 every working day.
    number: str = Field(max_length=8)
    letter: str = Field(max_length=1)
    seq: int
    office_day: date = Field(index=True)
    # Unique: checking in the same booking twice reprints the same ticket.
    booking_id: int = Field(foreign_key="booking.id", unique=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    # The unguessable part of the ticket's own page, /t/<token>.
    token: str = Field(max_length=64, unique=True, index=True)
    status: TicketStatus = status_field(TicketStatus.WAITING)
    # Current assignment: changes on transfer (§23) and meeting-room moves (§35).
    service_id: int = Field(foreign_key="service.id")
    staff_id: int = Field(foreign_key="staff.id", index=True)
    room_id: int = Field(foreign_key="room.id")
    # Priority stays the original booked time, also after a transfer.
    booked_at: datetime
    checked_in_at: datetime = created_at_field()
    late_arrival: bool = False
    called_at: datetime | None = None
    called_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    recall_count: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    transfer_count: int = 0
    # §34.4: lateness is measured again after a transfer, from this moment.
    transferred_at: datetime | None = None
    # §34.4: minutes the current specialist's first call came late (after the booked time,
    # a late check-in, or the transfer), when positive.
    late_start_minutes: int | None = None
    # §35.5: the specialist's mark that the department's work is at fault, with a short reason.
    department_fault: str | None = Field(default=None, max_length=300)
    department_fault_at: datetime | None = None
    kiosk_device_id: int | None = Field(default=None, foreign_key="device.id")


class TicketCounter(SQLModel, table=True):
    """The last ticket sequence of a service letter on an office day.

    Taken with a row lock inside the check-in transaction; the unique
    constraint on Ticket stands behind it.
    """

    __table_args__ = (UniqueConstraint("office_day", "letter", name="uq_counter_day_letter"),)

    id: int | None = Field(default=None, primary_key=True)
    office_day: date
    letter: str = Field(max_length=1)
    last_seq: int = 0


class PrintJobStatus(StrEnum):
    PENDING = "pending"
    PRINTING = "printing"
    DONE = "done"  # the printer said it printed the ticket
    SENT = "sent"  # sent to a printer that cannot say (a file, a dumb serial port)
    FAILED = "failed"


# A print claim older than this belongs to a process that died mid-job (the service
# takes it back, /metrics counts those still waiting).
PRINT_CLAIM_STALE_AFTER = timedelta(minutes=2)


class PrintJob(SQLModel, table=True):
    """A ticket to print on a kiosk's printer; failed jobs are retried, never lost."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    status: PrintJobStatus = status_field(PrintJobStatus.PENDING)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
    reprint: bool = False
    created_at: datetime = created_at_field()
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=100)
    printed_at: datetime | None = None
    next_attempt_at: datetime | None = None
    # The bytes last sent, kept on the device's newest sent job only: the administrator's
    # and the kiosk's preview of a real printer is drawn from them.
    sent_data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
