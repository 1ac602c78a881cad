"""SQLModel tables, one module per aggregate. Importing this registers them all."""

from visits.models.booking import Booking, BookingStatus, SlotHold
from visits.models.call import (
    CALL_OUTCOME_LABELS,
    Call,
    CallBack,
    CallBooking,
    CallHandover,
    CallOutcome,
    CallStatus,
)
from visits.models.client import CHANNEL_LABELS, Channel, Client, ClientNote
from visits.models.device import Device, DeviceKind
from visits.models.history import HISTORY_LABELS, AuditEntry, HistoryEntry, HistoryKind
from visits.models.message import CallTask, MessageKind, MessageStatus, OutgoingMessage
from visits.models.office import Role, Room, RoomKind, Service, Staff, StaffService
from visits.models.ops import PushEvent, RateLimitHit, SchedulerLease, StaffSession, Throttle
from visits.models.rating import PromptStatus, Rating, RatingPrompt
from visits.models.room import ColleagueInvite, RoomReservation
from visits.models.ticket import (
    PRINT_CLAIM_STALE_AFTER,
    PrintJob,
    PrintJobStatus,
    Ticket,
    TicketCounter,
    TicketStatus,
)

__all__ = [
    "CALL_OUTCOME_LABELS",
    "CHANNEL_LABELS",
    "HISTORY_LABELS",
    "PRINT_CLAIM_STALE_AFTER",
    "AuditEntry",
    "Booking",
    "BookingStatus",
    "Call",
    "CallBack",
    "CallBooking",
    "CallHandover",
    "CallOutcome",
    "CallStatus",
    "CallTask",
    "Channel",
    "Client",
    "ClientNote",
    "ColleagueInvite",
    "Device",
    "DeviceKind",
    "HistoryEntry",
    "HistoryKind",
    "MessageKind",
    "MessageStatus",
    "OutgoingMessage",
    "PrintJob",
    "PrintJobStatus",
    "PromptStatus",
    "PushEvent",
    "RateLimitHit",
    "Rating",
    "RatingPrompt",
    "Role",
    "Room",
    "RoomKind",
    "RoomReservation",
    "SchedulerLease",
    "Service",
    "SlotHold",
    "Staff",
    "StaffService",
    "StaffSession",
    "Throttle",
    "Ticket",
    "TicketCounter",
    "TicketStatus",
]
