"""QR codes drawn for screens: the booking's code at the desk, the ticket page at the kiosk."""

from __future__ import annotations

import base64

import qrcode
import qrcode.constants
import qrcode.image.svg


def qr_svg(payload: str, *, box_size: int = 10) -> str:
    """`payload` as inline SVG: sharp on screen, on paper and in e-mail at any size."""
    image = qrcode.make(
        payload,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=box_size,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg: str = image.to_string(encoding="unicode")
    return svg


def qr_data_uri(payload: str, *, box_size: int = 10) -> str:
    """`payload` as an SVG data URI, for an <img> (printable with the page)."""
    svg = qr_svg(payload, box_size=box_size).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
