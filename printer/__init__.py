"""Ticket printing: layout -> ESC/POS bytes -> a transport chosen by URI.

Imports nothing of ours; services receive a transport and call `print_ticket`.
"""

from __future__ import annotations

from dataclasses import dataclass

from printer.decode import Page, decode_escpos
from printer.errors import PrinterError, ReasonCode
from printer.escpos_render import render_ticket
from printer.layout import PrinterSettings, TicketLayout
from printer.preview import render_bytes_png, render_preview_png
from printer.profiles import CHARS_PER_LINE, PAPER_WIDTHS_MM, PROFILES, PrinterProfile
from printer.status import PaperState, PrinterStatus
from printer.transports import Transport, transport_from_uri, uri_can_confirm
from printer.virtual import VirtualJob, VirtualPrinter, reset_virtual_printers, virtual_printer

__all__ = [
    "CHARS_PER_LINE",
    "PAPER_WIDTHS_MM",
    "PROFILES",
    "Page",
    "PaperState",
    "PrintedTicket",
    "PrinterError",
    "PrinterProfile",
    "PrinterSettings",
    "PrinterStatus",
    "ReasonCode",
    "TicketLayout",
    "Transport",
    "VirtualJob",
    "VirtualPrinter",
    "decode_escpos",
    "print_ticket",
    "render_bytes_png",
    "render_preview_png",
    "render_ticket",
    "reset_virtual_printers",
    "transport_from_uri",
    "uri_can_confirm",
    "virtual_printer",
]


@dataclass(frozen=True)
class PrintedTicket:
    """The bytes sent and what the printer said after them (`status.confirmed`)."""

    data: bytes
    status: PrinterStatus


def print_ticket(
    layout: TicketLayout, settings: PrinterSettings, transport: Transport
) -> PrintedTicket:
    """Render the ticket and send it; raise PrinterError when the printer did not print it."""
    data = render_ticket(layout, settings)
    if isinstance(transport, VirtualPrinter):
        status = transport.send(data, preview=render_bytes_png(data, settings))
    else:
        status = transport.send(data)
    return PrintedTicket(data, status)
