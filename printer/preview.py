"""Ticket layout -> PNG preview drawn with Pillow, from the same blocks as the ESC/POS."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import qrcode
from PIL import Image, ImageDraw, ImageFont

from printer.escpos_render import QR_SIZE
from printer.layout import (
    Block,
    FeedBlock,
    PrinterSettings,
    QrBlock,
    TextBlock,
    TicketLayout,
    ticket_blocks,
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# A package-local fonts/ folder wins, so a deployment can ship its own font.
FONT_DIRS: tuple[Path, ...] = (
    Path(__file__).with_name("fonts"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
REGULAR: Final = "DejaVuSansMono.ttf"
BOLD: Final = "DejaVuSansMono-Bold.ttf"
MARGIN: Final = 8
LINE_SPACING: Final = 1.25


def render_preview_png(layout: TicketLayout, settings: PrinterSettings) -> bytes:
    """Draw the ticket as the printer would print it, as PNG bytes."""
    width = settings.paper_width_px
    font_size = _font_size(width - 2 * MARGIN, settings.paper_width_chars)
    ops = list(_place(ticket_blocks(layout, settings), width, font_size))
    height = max((op.y + op.height for op in ops), default=0) + 4 * MARGIN
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for op in ops:
        if op.qr is not None:
            image.paste(op.qr, (op.x, op.y))
        else:
            draw.text((op.x, op.y), op.text, fill=0, font=op.font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class _Op:
    x: int
    y: int
    height: int
    text: str = ""
    font: Font | None = None
    qr: Image.Image | None = None


def _place(blocks: list[Block], width: int, font_size: int) -> list[_Op]:
    ops: list[_Op] = []
    line_height = round(font_size * LINE_SPACING)
    y = MARGIN
    for block in blocks:
        if isinstance(block, FeedBlock):
            y += line_height * block.count
        elif isinstance(block, QrBlock):
            qr = _qr_image(block.url, width - 2 * MARGIN)
            ops.append(_Op(x=(width - qr.width) // 2, y=y, height=qr.height, qr=qr))
            y += qr.height
        elif isinstance(block, TextBlock):
            font = _load_font(font_size * block.scale, block.bold)
            step = line_height * block.scale
            for line in block.lines:
                x = MARGIN
                if block.align == "center":
                    x = max(MARGIN, (width - round(font.getlength(line))) // 2)
                ops.append(_Op(x=x, y=y, height=step, text=line, font=font))
                y += step
    return ops


def _font_size(text_width: int, columns: int) -> int:
    """Return the largest font size whose `columns` characters fit `text_width` pixels."""
    font = _load_font(100, False)
    per_char = font.getlength("Ж" * 10) / 1000  # width of one character per point
    return max(8, int(text_width / (columns * per_char)))


@lru_cache(maxsize=32)
def _load_font(size: int, bold: bool) -> Font:
    names = (BOLD, REGULAR) if bold else (REGULAR,)
    for folder in FONT_DIRS:
        for name in names:
            path = folder / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    # Pillow's built-in font: not monospace and poor at Cyrillic, but never a crash.
    return ImageFont.load_default(size=size)


def _qr_image(url: str, max_width: int) -> Image.Image:
    code = qrcode.QRCode(border=1, box_size=QR_SIZE)
    code.add_data(url)
    code.make(fit=True)
    modules: int = code.modules_count + 2
    code.box_size = max(1, min(QR_SIZE, max_width // modules))
    image: Image.Image = code.make_image().get_image()
    return image.convert("L")
