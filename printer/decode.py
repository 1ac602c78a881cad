"""ESC/POS bytes -> what the paper shows: lines of text, QR codes, images, the cut.

The preview is drawn from this, so the preview of a ticket is its print: the same
bytes, the same columns (the printer wraps a long line where the paper ends), the
same code page, the same QR error correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from escpos.printer import Dummy

from printer.layout import PrinterSettings
from printer.profiles import max_chars

Align = Literal["left", "center", "right"]

ESC: Final = 0x1B
GS: Final = 0x1D
DLE: Final = 0x10
LF: Final = 0x0A
_ALIGN: Final[dict[int, Align]] = {
    0: "left",
    48: "left",
    1: "center",
    49: "center",
    2: "right",
    50: "right",
}
_QR_EC: Final[dict[int, str]] = {48: "L", 49: "M", 50: "Q", 51: "H"}
# ESC commands with one parameter byte that change nothing the preview draws.
_ESC_ONE: Final = frozenset(map(ord, "-3!GMV{JUr"))


@dataclass(frozen=True)
class PrintedLine:
    """One line as the printer lays it out: at most the paper's columns at this size."""

    text: str
    align: Align = "left"
    bold: bool = False
    width_scale: int = 1
    height_scale: int = 1


@dataclass(frozen=True)
class PrintedQr:
    data: str
    error_correction: str  # L, M, Q or H
    module_dots: int
    align: Align = "center"


@dataclass(frozen=True)
class PrintedImage:
    width: int  # dots
    height: int
    bits: bytes  # GS v 0 raster: rows of width/8 bytes, MSB first, 1 = black


@dataclass(frozen=True)
class Feed:
    lines: int


@dataclass(frozen=True)
class Cut:
    pass


Item = PrintedLine | PrintedQr | PrintedImage | Feed | Cut


@dataclass
class Page:
    """A decoded job: its items in order and the code page its text came in."""

    items: list[Item] = field(default_factory=list)
    code_page: str = "cp437"

    @property
    def lines(self) -> list[PrintedLine]:
        return [item for item in self.items if isinstance(item, PrintedLine)]

    @property
    def qr_codes(self) -> list[PrintedQr]:
        return [item for item in self.items if isinstance(item, PrintedQr)]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@lru_cache(maxsize=16)
def _code_pages(profile: str) -> dict[int, str]:
    """Slot number -> Python codec, as the profile's code page table says."""
    try:
        pages = Dummy(profile=profile).profile.get_code_pages()
    except KeyError:
        return {}
    return {int(slot): name.lower() for name, slot in pages.items() if str(slot).isdigit()}


def decode_escpos(data: bytes, settings: PrinterSettings) -> Page:
    """Read a job as the printer of `settings` would print it."""
    page = Page()
    state = _State(settings, _code_pages(settings.profile))
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte == ESC and i + 1 < n:
            i = state.esc(data, i, page)
        elif byte == GS and i + 1 < n:
            i = state.gs(data, i, page)
        elif byte == DLE and i + 2 < n and data[i + 1] in (0x04, 0x05):
            i += 3  # real-time status requests print nothing
        elif byte == LF:
            state.newline(page)
            i += 1
        elif byte < 0x20:
            i += 1  # CR and other controls print nothing
        else:
            state.buffer.append(byte)
            i += 1
    if state.buffer:
        state.newline(page)
    page.code_page = state.codec
    return page


class _State:
    def __init__(self, settings: PrinterSettings, pages: dict[int, str]) -> None:
        self.dots = settings.paper_width_px
        self.pages = pages
        self.reset()

    def reset(self) -> None:
        self.codec = "cp437"
        self.align: Align = "left"
        self.bold = False
        self.width_scale = 1
        self.height_scale = 1
        self.buffer = bytearray()

    def newline(self, page: Page) -> None:
        text = bytes(self.buffer).decode(self.codec, errors="replace")
        self.buffer.clear()
        columns = max(1, max_chars(self.dots, self.width_scale))
        # The printer starts a new line where the paper ends, mid-word if need be.
        chunks = [text[k : k + columns] for k in range(0, len(text), columns)] or [""]
        for chunk in chunks:
            page.items.append(
                PrintedLine(chunk, self.align, self.bold, self.width_scale, self.height_scale)
            )

    def esc(self, data: bytes, i: int, page: Page) -> int:
        command = data[i + 1]
        arg = data[i + 2] if i + 2 < len(data) else 0
        if command == ord("@"):
            self.reset()
            return i + 2
        if command == ord("t"):
            self.codec = self.pages.get(arg, "cp437")
        elif command == ord("E"):
            self.bold = bool(arg & 1)
        elif command == ord("a"):
            self.align = _ALIGN.get(arg, "left")
        elif command == ord("d"):
            if self.buffer:
                self.newline(page)
            page.items.append(Feed(arg))
        elif command == ord("2"):
            return i + 2
        elif command not in _ESC_ONE:
            return i + 2  # unknown: skip the command byte only
        return i + 3

    def gs(self, data: bytes, i: int, page: Page) -> int:
        command = data[i + 1]
        if command == ord("!") and i + 2 < len(data):
            size = data[i + 2]
            self.width_scale = (size >> 4) + 1
            self.height_scale = (size & 0x0F) + 1
            return i + 3
        if command == ord("V") and i + 2 < len(data):
            if self.buffer:
                self.newline(page)
            page.items.append(Cut())
            return i + (4 if data[i + 2] in (65, 66) else 3)
        if command == ord("(") and i + 4 < len(data) and data[i + 2] == ord("k"):
            length = data[i + 3] | data[i + 4] << 8
            self._qr(data[i + 5 : i + 5 + length], page)
            return i + 5 + length
        if command == ord("v") and i + 7 < len(data) and data[i + 2] == ord("0"):
            width_bytes = data[i + 4] | data[i + 5] << 8
            height = data[i + 6] | data[i + 7] << 8
            start = i + 8
            bits = data[start : start + width_bytes * height]
            page.items.append(PrintedImage(width_bytes * 8, height, bytes(bits)))
            return start + width_bytes * height
        if command in (ord("b"), ord("B"), ord("f"), ord("h"), ord("w"), ord("H"), ord("k")):
            return i + 3
        return i + 2

    def _qr(self, body: bytes, page: Page) -> None:
        # cn=49 (QR), then fn: 65 model, 67 module size, 69 error correction, 80 store, 81 print.
        if len(body) < 2 or body[0] != 49:
            return
        fn = body[1]
        if fn == 67 and len(body) > 2:
            self.qr_module = body[2]
        elif fn == 69 and len(body) > 2:
            self.qr_ec = _QR_EC.get(body[2], "?")
        elif fn == 80:
            self.qr_data = body[3:].decode("latin-1")
        elif fn == 81:
            page.items.append(
                PrintedQr(
                    getattr(self, "qr_data", ""),
                    getattr(self, "qr_ec", "L"),  # the printers' power-on default
                    getattr(self, "qr_module", 3),
                    self.align,
                )
            )
