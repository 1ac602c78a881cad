"""The ticket as plain data, and the one list of blocks both renderers draw."""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from printer.profiles import DEFAULT_DOTS, PROFILES

Align = Literal["left", "center"]

# CP866 has no typographic dashes or quotes: replace them rather than print "?".
_PLAIN: Final[dict[int, str]] = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus
        "\u00ab": '"',
        "\u00bb": '"',
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
    }
)

# Letters of the neighbouring alphabets CP866 lacks, by the Russian letter read alike.
# The printer would print "?" for them; the preview and the print both show these.
_TRANSLIT: Final[dict[str, str]] = {
    "І": "I",
    "і": "i",
    "Ґ": "Г",
    "ґ": "г",
    "Ә": "А",
    "ә": "а",
    "Ғ": "Г",
    "ғ": "г",
    "Қ": "К",
    "қ": "к",
    "Ң": "Н",
    "ң": "н",
    "Ө": "О",
    "ө": "о",
    "Ұ": "У",
    "ұ": "у",
    "Ү": "У",
    "ү": "у",
    "Һ": "Х",
    "һ": "х",
    "Ј": "J",
    "ј": "j",
    "Ѓ": "Г",
    "ѓ": "г",
    "Ќ": "К",
    "ќ": "к",
    "Љ": "Л",
    "љ": "л",
    "Њ": "Н",
    "њ": "н",
    "Ђ": "Д",
    "ђ": "д",
    "Ћ": "Ч",
    "ћ": "ч",
    "Џ": "Д",
    "џ": "д",
    "Ѕ": "S",
    "ѕ": "s",
}


@dataclass(frozen=True)
class TicketLayout:
    """What a visitor's ticket says, already formatted as text."""

    department: str
    number: str
    greeting: str
    service: str
    booked_time: str
    specialist: str
    room_line: str
    route: str
    qr_url: str
    issued_at: str
    phones: str
    footer: str = ""


@dataclass(frozen=True)
class PrinterSettings:
    """How one physical printer prints: its python-escpos profile and paper."""

    profile: str = "TM-T20II"
    paper_width_chars: int = 42  # 48 or 42 for 80 mm paper, 32 for 58 mm
    native_qr: bool = True  # False for printers without GS ( k (TM-T88III, POS-5890)
    paper_mm: int | None = None  # None: 58 mm for 32 columns or fewer, else 80 mm

    def __post_init__(self) -> None:
        if not 16 <= self.paper_width_chars <= 64:
            raise ValueError(f"paper_width_chars out of range: {self.paper_width_chars}")
        if self.paper_mm is not None and self.paper_mm not in DEFAULT_DOTS:
            raise ValueError(f"paper_mm must be 58 or 80, got {self.paper_mm}")

    @property
    def paper(self) -> int:
        """The paper width in millimetres."""
        if self.paper_mm is not None:
            return self.paper_mm
        return 58 if self.paper_width_chars <= 32 else 80

    @property
    def paper_width_px(self) -> int:
        """Return the printable width in dots: the model's own on its own paper, never wider."""
        model = PROFILES.get(self.profile)
        if model is not None and model.paper_mm <= self.paper:
            return model.dots
        return DEFAULT_DOTS[self.paper]


@dataclass(frozen=True)
class TextBlock:
    """Lines already wrapped to the paper, printed with one style."""

    lines: tuple[str, ...]
    align: Align = "left"
    bold: bool = False
    scale: int = 1


@dataclass(frozen=True)
class QrBlock:
    """A QR code, centred."""

    url: str


@dataclass(frozen=True)
class FeedBlock:
    """Empty lines."""

    count: int = 1


Block = TextBlock | QrBlock | FeedBlock


def plain_text(text: str) -> str:
    """Replace characters a CP866 printer lacks by look-alikes it has, "?" as the last resort."""
    translated = text.translate(_PLAIN)
    if not _in_cp866(translated):
        # Character by character only when the line has one to replace: the usual
        # Russian line is checked in one call instead of one per character.
        translated = "".join(_printable(ch) for ch in translated)
    return " ".join(translated.split())


def _printable(ch: str) -> str:
    if _in_cp866(ch):
        return ch
    if ch in _TRANSLIT:
        return _TRANSLIT[ch]
    # Accented Latin letters (é, ü) lose the accent: NFKD splits it off.
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and all(_in_cp866(c) for c in base):
        return base
    return "?"


def _in_cp866(text: str) -> bool:
    try:
        text.encode("cp866")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1024)
def wrap(text: str, width: int) -> tuple[str, ...]:
    """Wrap text to `width` columns without breaking words or hyphenated words.

    Cached: most of a ticket's lines repeat (the office, the phones, a room's route,
    a service, a specialist), and wrapping was two thirds of a ticket's rendering.
    """
    plain = plain_text(text)
    if len(plain) <= width:
        # What textwrap returns for a line that fits: plain_text leaves single spaces
        # and no space at either end.
        return (plain,) if plain else ()
    return tuple(
        textwrap.wrap(
            plain,
            width=width,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def number_scale(number: str, width: int) -> int:
    """Return the largest character magnification (4..1) that fits the number on a line."""
    for scale in (4, 3, 2):
        if len(number) * scale <= width:
            return scale
    return 1


def ticket_blocks(layout: TicketLayout, settings: PrinterSettings) -> list[Block]:
    """Lay the ticket out for the paper width; empty fields are left out."""
    width = settings.paper_width_chars
    blocks: list[Block] = []

    def text(value: str, align: Align = "left", *, bold: bool = False, scale: int = 1) -> None:
        lines = wrap(value, width // scale)
        if lines:
            blocks.append(TextBlock(lines, align, bold, scale))

    rule = TextBlock(("-" * width,), "center")

    text(layout.department, "center", bold=True)
    blocks.append(rule)
    text(layout.number, "center", bold=True, scale=number_scale(plain_text(layout.number), width))
    text(layout.greeting, "center")
    blocks.append(rule)
    if layout.service:
        text(f"Услуга: {layout.service}")
    if layout.booked_time:
        text(f"Время приёма: {layout.booked_time}", bold=True)
    if layout.specialist:
        text(f"Специалист: {layout.specialist}")
    text(layout.room_line, bold=True)
    text(layout.route)
    if layout.qr_url:
        blocks.append(FeedBlock())
        blocks.append(QrBlock(layout.qr_url))
    blocks.append(FeedBlock())
    if layout.issued_at:
        text(f"Талон выдан {layout.issued_at}", "center")
    text(layout.phones, "center")
    text(layout.footer, "center")
    return blocks
