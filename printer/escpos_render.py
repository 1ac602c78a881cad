"""Ticket layout -> ESC/POS bytes, with python-escpos."""

from __future__ import annotations

from typing import Any, Final

import qrcode
from escpos.printer import Dummy

from printer.layout import (
    FeedBlock,
    PrinterSettings,
    QrBlock,
    TextBlock,
    TicketLayout,
    ticket_blocks,
)

QR_SIZE: Final = 6  # dots per module, as in the printer's GS ( k size
CODEPAGE: Final = "CP866"


def render_ticket(layout: TicketLayout, settings: PrinterSettings) -> bytes:
    """Render the ticket to the bytes one printer of `settings.profile` understands."""
    printer = _dummy(settings.profile)
    printer.hw("INIT")  # ESC @ resets the code page, so the code page goes after it
    # The slot of CP866 differs per profile (17 on Epson, 59 on POS-5890); python-escpos
    # knows it. Forcing it keeps one page for the whole ticket instead of letting the
    # automatic encoder hop to CP855 or CP1251 for a stray character.
    if CODEPAGE in printer.profile.get_code_pages():
        printer.charcode(CODEPAGE)
    for block in ticket_blocks(layout, settings):
        if isinstance(block, TextBlock):
            _text(printer, block)
        elif isinstance(block, QrBlock):
            _qr(printer, block.url, settings)
        elif isinstance(block, FeedBlock):
            printer.ln(block.count)
    printer.set(align="left")
    printer.cut()  # feeds first; a profile without a cutter (POS-5890) only feeds
    output: bytes = printer.output
    return output


def _dummy(profile: str) -> Any:
    try:
        return Dummy(profile=profile)
    except KeyError:
        raise ValueError(f"unknown python-escpos printer profile: {profile!r}") from None


def _text(printer: Any, block: TextBlock) -> None:
    printer.set(align=block.align, bold=block.bold)
    if block.scale > 1:
        printer.set(custom_size=True, width=block.scale, height=block.scale, smooth=True)
    for line in block.lines:
        printer.textln(line)
    if block.scale > 1:
        # GS ! 0 explicitly: some clones ignore ESC ! 0 after a GS ! size.
        printer.set(custom_size=True, width=1, height=1, smooth=False)


def _qr(printer: Any, url: str, settings: PrinterSettings) -> None:
    if settings.native_qr:
        # python-escpos refuses center=True for native codes: align the line instead.
        printer.set(align="center")
        printer.qr(url, native=True, size=QR_SIZE)
        printer.set(align="left")
        return
    size = _raster_qr_size(url, _width_px(printer, settings))
    printer.qr(url, native=False, size=size, center=True)


def _width_px(printer: Any, settings: PrinterSettings) -> int:
    pixels = printer.profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return pixels if isinstance(pixels, int) else settings.paper_width_px


def _raster_qr_size(url: str, width_px: int) -> int:
    """Shrink the modules of a long URL's raster code so it fits the paper."""
    code = qrcode.QRCode(border=1)
    code.add_data(url)
    code.make(fit=True)
    modules: int = code.modules_count + 2
    return max(1, min(QR_SIZE, width_px // modules))
