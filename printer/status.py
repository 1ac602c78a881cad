"""Printer status and the meaning of the ESC/POS `DLE EOT n` answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from printer.errors import ReasonCode

PaperState = Literal["ok", "near_end", "out", "unknown"]

DLE_EOT_PRINTER: Final = b"\x10\x04\x01"
DLE_EOT_OFFLINE_CAUSE: Final = b"\x10\x04\x02"
DLE_EOT_PAPER: Final = b"\x10\x04\x04"

# Every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear.
_FIXED_MASK: Final = 0x93
_FIXED_VALUE: Final = 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself; `None`/"unknown" when it says nothing."""

    online: bool | None
    paper: PaperState = "unknown"
    error: str | None = None


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
