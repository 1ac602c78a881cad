"""Domain errors. Each carries a message a visitor or staff member can read.

`code` is a stable machine word for the JSON API and the logs; `message` is
the Russian text for the screen, in the neutral style of §5-6.
"""

from __future__ import annotations


class PriyomError(Exception):
    """Base of every error a service raises on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class InvalidInput(PriyomError):
    """The input cannot be used as it is: a phone, an e-mail, a missing choice."""

    code = "invalid_input"
    status = 422


class NotFound(PriyomError):
    code = "not_found"
    status = 404


class Conflict(PriyomError):
    """The state changed meanwhile: the slot was taken, the ticket already called."""

    code = "conflict"
    status = 409


# The desk's re-check of a picked time and booking_create refuse a taken time in the same words.
SLOT_TAKEN = "Это время только что заняли. Выберите другое."


class SlotTaken(Conflict):
    """The picked time was booked by someone else meanwhile (§29: choose another)."""

    code = "slot_taken"

    def __init__(self) -> None:
        super().__init__(SLOT_TAKEN, field="slot")


class RuleViolation(PriyomError):
    """A rule of the department's order refuses the action (§23 and others)."""

    code = "rule"
    status = 409


class Forbidden(PriyomError):
    code = "forbidden"
    status = 403


class TooManyAttempts(PriyomError):
    code = "too_many_attempts"
    status = 429


class PrinterUnavailable(PriyomError):
    """The ticket is saved, but the printer could not print it."""

    code = "printer_unavailable"
    status = 503
