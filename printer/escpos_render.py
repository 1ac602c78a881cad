"""Ticket layout -> ESC/POS bytes, with python-escpos."""

from __future__ import annotations

from typing import Any, Final

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image

from printer.layout import (
    FeedBlock,
    PrinterSettings,
    QrBlock,
    TextBlock,
    TicketLayout,
    ticket_blocks,
)

QR_SIZE: Final = 6  # dots per module, as in the printer's GS ( k size
# M (15 % of the code may be lost) in print and preview alike: thermal paper fades and scuffs.
QR_ERROR_CORRECTION: Final = "M"
CODEPAGE: Final = "CP866"


def render_ticket(layout: TicketLayout, settings: PrinterSettings) -> bytes:
    """Render the ticket to the bytes one printer of `settings.profile` understands."""
    printer = _dummy(settings.profile)
    printer.hw("INIT")  # ESC @ resets the code page, so the code page goes after it
    # The slot of CP866 differs per profile (17 on Epson, 59 on POS-5890); python-escpos
    # knows it. Forcing it keeps one page for the whole ticket instead of letting the
    # automatic encoder hop to CP855 or CP1251 for a stray character.
    forced = CODEPAGE in printer.profile.get_code_pages()
    if forced:
        printer.charcode(CODEPAGE)
    for block in ticket_blocks(layout, settings):
        if isinstance(block, TextBlock):
            if forced:
                _encoded_block(printer, block)
            else:
                _text(printer, block, encoded=False)
        elif isinstance(block, QrBlock):
            _qr(printer, block.url, settings)
        elif isinstance(block, FeedBlock):
            _feed(printer, block.count, encoded=forced)
    printer.set(align="left")
    printer.cut()  # feeds first; a profile without a cutter (POS-5890) only feeds
    output: bytes = printer.output
    return output


def _dummy(profile: str) -> Any:
    try:
        return Dummy(profile=profile)
    except KeyError:
        raise ValueError(f"unknown python-escpos printer profile: {profile!r}") from None


# A text block's bytes on a CP866 page, by block (see _encoded_block).
_BLOCK_BYTES: dict[TextBlock, bytes] = {}
_BLOCK_BYTES_KEPT: Final = 512


def _encoded_block(printer: Any, block: TextBlock) -> None:
    """Send a text block on a CP866 page: its style commands and its lines.

    Cached: most blocks repeat from ticket to ticket (the office, the rules, the phones,
    a room's route, a service). Style commands do not depend on the profile and the
    code page is fixed, so the bytes depend on the block alone (no encoder state); a
    new block is drawn on the ticket's own printer and its bytes are kept.
    """
    cached = _BLOCK_BYTES.get(block)
    if cached is not None:
        printer._raw(cached)
        return
    start = len(printer._output_list)
    _text(printer, block, encoded=True)
    if len(_BLOCK_BYTES) >= _BLOCK_BYTES_KEPT:
        _BLOCK_BYTES.clear()
    _BLOCK_BYTES[block] = b"".join(printer._output_list[start:])


def _text(printer: Any, block: TextBlock, *, encoded: bool) -> None:
    """Print a block's lines; `encoded`: the code page is CP866 for the whole ticket.

    Then the lines go as Python's cp866 bytes: the same bytes python-escpos's encoder
    makes for them (its CP866 table is the codec's, tests/unit/printer checks), without
    its per-character Python loop (a third of a ticket's rendering). The lines hold
    only CP866 characters (layout.plain_text).
    """
    printer.set(align=block.align, bold=block.bold)
    if block.scale > 1:
        printer.set(custom_size=True, width=block.scale, height=block.scale, smooth=True)
    for line in block.lines:
        if encoded:
            printer._raw(line.encode(CODEPAGE) + b"\n")
        else:
            printer.textln(line)
    if block.scale > 1:
        # GS ! 0 explicitly: some clones ignore ESC ! 0 after a GS ! size.
        printer.set(custom_size=True, width=1, height=1, smooth=False)


def _feed(printer: Any, count: int, *, encoded: bool) -> None:
    """Blank lines: printer.ln() sends the same newlines through the encoder (see _text)."""
    if encoded:
        printer._raw(b"\n" * count)
    else:
        printer.ln(count)


def _qr(printer: Any, url: str, settings: PrinterSettings) -> None:
    if settings.native_qr:
        # python-escpos refuses center=True for native codes: align the line instead.
        printer.set(align="center")
        printer.qr(url, native=True, size=QR_SIZE, ec=QR_ECLEVEL_M)
        printer.set(align="left")
        return
    # A model without GS ( k gets the same code as a raster image, centred on this paper
    # (python-escpos would centre it on the model's own paper, wrong for 58 mm in an 80 mm model).
    printer.image(raster_qr(url, settings.paper_width_px), center=False)


def raster_qr(url: str, width_px: int) -> Image.Image:
    """The QR code as a 1-bit image `width_px` wide, the code centred, modules shrunk to fit."""
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    modules: int = code.modules_count + 2
    code.box_size = max(1, min(QR_SIZE, width_px // modules))
    image: Image.Image = code.make_image().get_image().convert("1")
    padded = Image.new("1", (width_px, image.height), 1)
    padded.paste(image, ((width_px - image.width) // 2, 0))
    return padded
