"""Printer status and the meaning of the ESC/POS `DLE EOT n` answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from printer.errors import ReasonCode

PaperState = Literal["ok", "near_end", "out", "unknown"]

DLE_EOT_PRINTER: Final = b"\x10\x04\x01"
DLE_EOT_OFFLINE_CAUSE: Final = b"\x10\x04\x02"
DLE_EOT_ERROR: Final = b"\x10\x04\x03"
DLE_EOT_PAPER: Final = b"\x10\x04\x04"
# DLE DC4 8: clear the receive and print buffers (Epson TM-T20II, TM-T88V and later),
# so a job a fault interrupted does not finish by itself once the fault is cleared.
DLE_DC4_CLEAR_BUFFERS: Final = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"
CLEAR_RESPONSE: Final = b"\x37\x25\x00"  # the printer's "buffers cleared"

# Every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear.
_FIXED_MASK: Final = 0x93
_FIXED_VALUE: Final = 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself; `None`/"unknown" when it says nothing.

    `confirmed` is set on the answer read after a job's bytes: the printer took the
    job and said it is online, with paper, without an error.
    """

    online: bool | None
    paper: PaperState = "unknown"
    error: str | None = None
    confirmed: bool = False


UNKNOWN: Final = PrinterStatus(online=None)


def is_status_byte(value: int) -> bool:
    """Tell a real DLE EOT answer from stray bytes."""
    return value & _FIXED_MASK == _FIXED_VALUE


def parse_online(value: int) -> bool:
    """Read `DLE EOT 1`: bit 3 set means offline."""
    return not value & 0x08


def parse_paper(value: int) -> PaperState:
    """Read `DLE EOT 4`: bits 5-6 roll end, bits 2-3 roll near its end."""
    if value & 0x60:
        return "out"
    if value & 0x0C:
        return "near_end"
    return "ok"


def parse_offline_cause(value: int) -> tuple[PaperState | None, str]:
    """Read `DLE EOT 2`: return the paper state it implies and a message for the staff."""
    if value & 0x04:
        return None, "Открыта крышка принтера"
    if value & 0x20:
        return "out", "В принтере закончилась бумага"
    if value & 0x40:
        return None, "Ошибка принтера"
    return None, "Принтер не в сети"


def parse_error_cause(value: int) -> str | None:
    """Read `DLE EOT 3`: return a message for the staff, or None when there is no error."""
    if value & 0x08:
        return "Ошибка ножа принтера: проверьте, не застряла ли бумага"
    if value & 0x20:
        return "Неустранимая ошибка принтера: выключите и включите его"
    if value & 0x40:
        return "Принтер перегрелся или у него ошибка питания"
    return None


def full_status(
    online: int | None, cause: int | None, error: int | None, paper: int | None
) -> tuple[PrinterStatus, ReasonCode | None]:
    """Read all four DLE EOT answers: the status, and the failure they mean (None: all well).

    A missing answer is itself a failure here: this is asked of printers that answer.
    """
    if online is None or paper is None:
        return UNKNOWN, "timeout"
    status = combine(online, paper, cause)
    reason = failure_reason(online, paper, cause)
    message = status.error
    if reason is None and error is not None and (error_message := parse_error_cause(error)):
        reason, message = "error", error_message
    if reason is None and cause is not None and cause & 0x40:
        reason, message = "error", "Ошибка принтера"
    if reason is not None:
        return PrinterStatus(online=False, paper=status.paper, error=message), reason
    return PrinterStatus(online=True, paper=status.paper, error=None), None


def combine(online: int | None, paper: int | None, cause: int | None) -> PrinterStatus:
    """Build a status from the answers received; a missing answer stays unknown."""
    if online is None:
        return UNKNOWN
    is_online = parse_online(online)
    paper_state: PaperState = "unknown" if paper is None else parse_paper(paper)
    error: str | None = None
    if not is_online:
        error = "Принтер не в сети"
        if cause is not None:
            implied, error = parse_offline_cause(cause)
            if implied is not None:
                paper_state = implied
    if error is None and paper_state == "out":
        error = "В принтере закончилась бумага"
    return PrinterStatus(online=is_online, paper=paper_state, error=error)


def failure_reason(online: int | None, paper: int | None, cause: int | None) -> ReasonCode | None:
    """Return the PrinterError reason code these answers mean, or None to go ahead."""
    if cause is not None and online is not None and not parse_online(online) and cause & 0x04:
        return "cover_open"
    if paper is not None and parse_paper(paper) == "out":
        return "paper_out"
    if cause is not None and cause & 0x20:
        return "paper_out"
    if online is not None and not parse_online(online):
        return "offline"
    return None
