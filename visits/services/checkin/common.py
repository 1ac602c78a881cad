"""What every way of checking in shares: the refusal, the result, the code as scanned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from visits.calendar import WorkCalendar, utcnow
from visits.errors import RuleViolation
from visits.models import Service
from visits.queries.slots import Slot, free_slots
from visits.queries.ticket_page import TicketInfo
from visits.services.booking import booking_code_normalise

KIOSK_ACTOR = "Терминал в холле"

# A scanner set to the Russian layout types ЗКШНЩЬЖ for PRIYOM: — map the keys back.
_RU_KEYS = "ЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬЖ"
_EN_KEYS = "QWERTYUIOPASDFGHJKLZXCVBNM:"
_LAYOUT = str.maketrans(_RU_KEYS + _RU_KEYS.lower(), _EN_KEYS + _EN_KEYS.lower())


class CheckinRefused(RuleViolation):
    """The booking cannot be checked in now; `reason` picks the kiosk's screen."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        booking_id: int | None = None,
        offer: Slot | None = None,
        service_id: int | None = None,
    ) -> None:
        super().__init__(message, code=f"checkin_{reason}")
        self.reason = reason
        self.booking_id = booking_id
        # §29: a free slot of the same day offered instead (late arrival), and the service
        # whose other free times of today the visitor may choose from.
        self.offer = offer
        self.service_id = service_id


@dataclass(frozen=True)
class CheckinResult:
    """A checked-in booking: its ticket and the print job of this press."""

    info: TicketInfo
    booking_id: int
    staff_id: int
    print_job_id: int | None
    reprint: bool


def scanned_code(raw: str) -> str:
    """Return the booking code from typed or scanned input (QR payload "PRIYOM:CODE")."""
    return booking_code_normalise((raw or "").translate(_LAYOUT))


def office_phones(calendar: WorkCalendar) -> str:
    """Return the office's phone lines as one phrase («… или …») with their hours (§19)."""
    config = calendar.config
    return f"{' или '.join(config.office.phones)} ({config.line_hours()})"


def first_free_slot_today(
    session: Session, calendar: WorkCalendar, *, service: Service, now: datetime | None = None
) -> Slot | None:
    """Return the first free slot of a service later today (§29), or None."""
    now = now or utcnow()
    today = calendar.to_local(now).date()
    for slot in free_slots(session, calendar, service=service, first_day=today, days=1, now=now):
        if calendar.to_local(slot.starts_at).date() == today:
            return slot
    return None
