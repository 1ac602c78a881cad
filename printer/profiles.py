"""What each supported printer model can do: paper, columns, native QR, status answers.

The device form fills its fields from here; everything stays editable per printer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Font A, the printers' default font: 12 x 24 dots a character on every model here.
CELL_WIDTH_DOTS: Final = 12
CELL_HEIGHT_DOTS: Final = 24
# The default line pitch (ESC 2): 30 dots, 3.75 mm at 203 dpi.
LINE_PITCH_DOTS: Final = 30
PAPER_WIDTHS_MM: Final = (58, 80)
CHARS_PER_LINE: Final = (32, 42, 48)
# Printable dots of a paper width when the model's own paper is another width.
DEFAULT_DOTS: Final[dict[int, int]] = {58: 384, 80: 576}


@dataclass(frozen=True)
class PrinterProfile:
    """One printer model, as python-escpos names it."""

    name: str
    paper_mm: int
    chars_per_line: int
    dots: int  # printable width in dots on its own paper
    native_qr: bool  # understands GS ( k
    answers_status: bool  # answers DLE EOT 1-4
    clears_buffer: bool  # understands DLE DC4 8 (clear the buffers after a fault)


PROFILES: Final[dict[str, PrinterProfile]] = {
    p.name: p
    for p in (
        PrinterProfile("TM-T20II", 80, 48, 576, True, True, True),
        PrinterProfile("TM-T88V", 80, 42, 512, True, True, True),
        # Older firmware: no GS ( k, so the QR goes as a raster image.
        PrinterProfile("TM-T88III", 80, 42, 512, False, True, False),
        # A 58 mm clone: answers DLE EOT, no native QR, no cutter.
        PrinterProfile("POS-5890", 58, 32, 384, False, True, False),
    )
}


def printer_profile(name: str) -> PrinterProfile:
    """Return a known model, or raise ValueError naming it."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown printer profile: {name!r}") from None


def max_chars(dots: int, scale: int = 1) -> int:
    """How many Font A characters a line of `dots` holds."""
    return dots // (CELL_WIDTH_DOTS * scale)
