"""The consultation line (order part III, §18-27): a call, its hand-overs and promised call-backs."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, json_field, status_field


class CallStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CallOutcome(StrEnum):
    """How a call ended; the Russian label is in CALL_OUTCOME_LABELS."""

    ANSWERED = "answered"  # §22: the answer was given in the call
    BOOKED = "booked"  # §28: a visit was booked (or cancelled, §32) during the call
    CALLBACK = "callback"  # §24: the answer will be given in a call back
    REFERRED = "referred"  # §26: not our remit, the competent body's contacts given
    NON_BUSINESS = "non_business"  # §27: ended after the warning


CALL_OUTCOME_LABELS: dict[str, str] = {
    CallOutcome.ANSWERED: "Ответ дан",
    CallOutcome.BOOKED: "Запись на приём",
    CallOutcome.CALLBACK: "Обещан перезвон",
    CallOutcome.REFERRED: "Вопрос не в полномочиях департамента",
    CallOutcome.NON_BUSINESS: "Завершён как неделовой",
}


class Call(SQLModel, table=True):
    """One call to the consultation line, from the first ring to the outcome (§18, §21)."""

    id: int | None = Field(default=None, primary_key=True)
    opened_at: datetime = Field(index=True)
    opened_by_staff_id: int = Field(foreign_key="staff.id", index=True)
    # Who has the call now: the operator, then the colleague it was handed over to (§23).
    staff_id: int = Field(foreign_key="staff.id", index=True)
    # None: the caller did not give a name, the call stays anonymous.
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    # A key of the office file's [consultation] topics.
    topic: str = Field(default="", max_length=40, index=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    note: str = Field(default="", max_length=1000)
    status: CallStatus = status_field(CallStatus.OPEN)
    outcome: str | None = Field(default=None, max_length=20, index=True)
    handover_count: int = 0
    # §26: the directory entry the caller was given, copied as it was.
    referral: str = Field(default="", max_length=600)
    # §27: the warning said before ending a non-business call.
    warning: str = Field(default="", max_length=500)
    closed_at: datetime | None = None
    closed_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    duration_seconds: int | None = None


class CallHandover(SQLModel, table=True):
    """One switch of a call to a colleague (§23): at most two per call."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    from_staff_id: int = Field(foreign_key="staff.id")
    to_staff_id: int = Field(foreign_key="staff.id", index=True)
    # The sentence the caller heard first, as it was said.
    said: str = Field(max_length=600)
    note: str = Field(default="", max_length=1000)
    at: datetime = created_at_field()


class CallBack(SQLModel, table=True):
    """A promised call-back (§24): whom to call, by when, in which of the caller's hours."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="client.id", index=True)
    # The staff member responsible for the answer; the task is theirs.
    staff_id: int = Field(foreign_key="staff.id", index=True)
    promised_by_staff_id: int = Field(foreign_key="staff.id")
    # Normalised +7XXXXXXXXXX, the number the caller gave for the answer.
    phone: str = Field(max_length=12)
    question: str = Field(default="", max_length=1000)
    # The deadline told to the caller: the answer comes on this office day at the latest.
    answer_by: date
    # The caller's convenient times: [["10:00", "12:00"], ...]; empty: any working time.
    intervals: list[Any] = json_field(list)
    # The first moment in the caller's interval within working hours (§14, §19).
    due_at: datetime = Field(index=True)
    # The end of the deadline day's working time: after it the call-back is late.
    late_after: datetime
    created_at: datetime = created_at_field()
    done_at: datetime | None = Field(default=None, index=True)
    done_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    answer: str = Field(default="", max_length=1000)


class CallBooking(SQLModel, table=True):
    """A booking made or cancelled at the desk during a call (§28, §32), linked to it."""

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="call.id", index=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    # "booked" or "cancelled"
    action: str = Field(max_length=10)
