"""ESC/POS bytes -> PNG preview, drawn dot for dot as the printer lays them out.

The preview decodes the very bytes the printer gets (printer.decode), so its
text, columns, code page and QR code are the print's: Font A's 12 x 24 dot cell,
the 30-dot line pitch, the paper's printable width, the QR's own error correction.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Final

import qrcode
from PIL import Image, ImageDraw, ImageFont

from printer.decode import Cut, Feed, Page, PrintedImage, PrintedLine, PrintedQr, decode_escpos
from printer.escpos_render import render_ticket
from printer.layout import PrinterSettings, TicketLayout
from printer.profiles import CELL_HEIGHT_DOTS, CELL_WIDTH_DOTS, LINE_PITCH_DOTS

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# A package-local fonts/ folder wins, so a deployment can ship its own font.
FONT_DIRS: tuple[Path, ...] = (
    Path(__file__).with_name("fonts"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
REGULAR: Final = "DejaVuSansMono.ttf"
BOLD: Final = "DejaVuSansMono-Bold.ttf"
MARGIN: Final = 8  # blank paper above the first line and after the cut
_ERROR_CORRECTION: Final = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def render_preview_png(layout: TicketLayout, settings: PrinterSettings) -> bytes:
    """Draw the ticket as the printer prints it, as PNG bytes."""
    return render_bytes_png(render_ticket(layout, settings), settings)


def preview_page(layout: TicketLayout, settings: PrinterSettings) -> Page:
    """What the preview shows: the decoded bytes of the ticket."""
    return decode_escpos(render_ticket(layout, settings), settings)


def render_bytes_png(data: bytes, settings: PrinterSettings) -> bytes:
    """Draw stored ESC/POS bytes (a job sent to a real printer) as PNG bytes."""
    width = settings.paper_width_px
    page = decode_escpos(data, settings)
    height = MARGIN + sum(_height(item, width) for item in page.items) + MARGIN
    image = Image.new("L", (width, max(height, 2 * MARGIN)), 255)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for item in page.items:
        if isinstance(item, PrintedLine):
            _draw_line(draw, item, width, y)
        elif isinstance(item, PrintedQr):
            qr = _qr_image(item)
            image.paste(qr, (_x(item.align, qr.width, width), y))
        elif isinstance(item, PrintedImage):
            raster = Image.frombytes("1", (item.width, item.height), item.bits)
            image.paste(raster.point(lambda v: 255 - v).convert("L"), (0, y))
        y += _height(item, width)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _height(item: object, width: int) -> int:
    if isinstance(item, PrintedLine):
        return max(LINE_PITCH_DOTS, CELL_HEIGHT_DOTS * item.height_scale)
    if isinstance(item, Feed):
        return LINE_PITCH_DOTS * item.lines
    if isinstance(item, PrintedQr):
        return _qr_image(item).height
    if isinstance(item, PrintedImage):
        return item.height
    if isinstance(item, Cut):
        return MARGIN
    return 0


def _x(align: str, used: int, width: int) -> int:
    if align == "center":
        return max(0, (width - used) // 2)
    if align == "right":
        return max(0, width - used)
    return 0


def _draw_line(draw: ImageDraw.ImageDraw, line: PrintedLine, width: int, y: int) -> None:
    cell_w = CELL_WIDTH_DOTS * line.width_scale
    cell_h = CELL_HEIGHT_DOTS * line.height_scale
    font = _load_font(cell_h, line.bold)
    x = _x(line.align, cell_w * len(line.text), width)
    for k, ch in enumerate(line.text):
        if ch == " ":
            continue
        # One character a cell, as the printer's fixed-pitch font: never wider than the print.
        left = x + k * cell_w
        glyph = font.getlength(ch)
        if glyph > cell_w:
            _draw_squeezed(draw, ch, font, left, y, cell_w, cell_h)
        else:
            draw.text((left + (cell_w - glyph) / 2, y), ch, fill=0, font=font)


def _draw_squeezed(
    draw: ImageDraw.ImageDraw, ch: str, font: Font, left: int, y: int, cell_w: int, cell_h: int
) -> None:
    glyph = Image.new("L", (max(1, round(font.getlength(ch))), cell_h), 255)
    ImageDraw.Draw(glyph).text((0, 0), ch, fill=0, font=font)
    squeezed = glyph.resize((cell_w, cell_h))
    draw.bitmap((left, y), squeezed.point(lambda v: 255 - v), fill=0)


@lru_cache(maxsize=32)
def _load_font(cell_height: int, bold: bool) -> Font:
    # Font A's glyphs fill about 5/6 of its 24-dot cell; DejaVu Mono's advance is 0.6 em,
    # so this size puts 12-dot-wide glyphs in 12-dot cells.
    size = round(cell_height * 5 / 6)
    names = (BOLD, REGULAR) if bold else (REGULAR,)
    for folder in FONT_DIRS:
        for name in names:
            path = folder / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    # Pillow's built-in font: poor at Cyrillic, but never a crash.
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=64)
def _qr_image(item: PrintedQr) -> Image.Image:
    # The printer draws the code with the error correction and module size it was told.
    code = qrcode.QRCode(
        border=0,
        box_size=max(1, item.module_dots),
        error_correction=_ERROR_CORRECTION.get(
            item.error_correction, qrcode.constants.ERROR_CORRECT_L
        ),
    )
    code.add_data(item.data)
    code.make(fit=True)
    image: Image.Image = code.make_image().get_image()
    return image.convert("L")
