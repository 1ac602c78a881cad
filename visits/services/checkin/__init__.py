"""Check-in at the lobby kiosk: a booking becomes a numbered ticket (§31, §34.3).

A visitor checks in by the booking code (typed, or scanned from the QR of the
confirmation) or by phone number. The ticket number is the service's letter
and a sequence per office day (А-001), taken from TicketCounter under a row
lock inside the check-in transaction; the unique constraints on Ticket stand
behind it. Checking in the same booking again gives the same ticket.

One module per use case: `ticket` (by code or QR), `phone` (by phone number),
`walkin` (today's first free time for a visitor without a booking), `late`
(a visitor too late for the booking takes today's first free time); `window`
holds the rule of when a booking may be checked in, `common` what they share.
"""

from visits.services.checkin.common import (
    KIOSK_ACTOR,
    CheckinRefused,
    CheckinResult,
    first_free_slot_today,
    scanned_code,
)
from visits.services.checkin.late import checkin_late_rebook
from visits.services.checkin.phone import (
    PHONE_LOOKUP_LIMIT,
    PHONE_LOOKUP_REFUSED,
    PHONE_LOOKUP_WINDOW,
    PhoneMatch,
    checkin_bookings_by_phone,
    checkin_by_phone,
)
from visits.services.checkin.ticket import SAME_PRESS, checkin_booking, ticket_checkin
from visits.services.checkin.walkin import (
    WalkinOffer,
    WalkinResult,
    WalkinTime,
    walkin_book,
    walkin_offers,
    walkin_times,
)

__all__ = [
    "KIOSK_ACTOR",
    "PHONE_LOOKUP_LIMIT",
    "PHONE_LOOKUP_REFUSED",
    "PHONE_LOOKUP_WINDOW",
    "SAME_PRESS",
    "CheckinRefused",
    "CheckinResult",
    "PhoneMatch",
    "WalkinOffer",
    "WalkinResult",
    "checkin_booking",
    "checkin_bookings_by_phone",
    "checkin_by_phone",
    "checkin_late_rebook",
    "first_free_slot_today",
    "scanned_code",
    "ticket_checkin",
    "WalkinTime",
    "walkin_book",
    "walkin_offers",
    "walkin_times",
]
