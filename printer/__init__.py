"""Ticket printing: layout -> ESC/POS bytes -> a transport chosen by URI.

Imports nothing of ours; services receive a transport and call `print_ticket`.
"""

from __future__ import annotations

from printer.errors import PrinterError, ReasonCode
from printer.escpos_render import render_ticket
from printer.layout import PrinterSettings, TicketLayout
from printer.preview import render_preview_png
from printer.status import PaperState, PrinterStatus
from printer.transports import Transport, transport_from_uri
from printer.virtual import VirtualJob, VirtualPrinter, reset_virtual_printers, virtual_printer

__all__ = [
    "PaperState",
    "PrinterError",
    "PrinterSettings",
    "PrinterStatus",
    "ReasonCode",
    "TicketLayout",
    "Transport",
    "VirtualJob",
    "VirtualPrinter",
    "print_ticket",
    "render_preview_png",
    "render_ticket",
    "reset_virtual_printers",
    "transport_from_uri",
    "virtual_printer",
]


def print_ticket(layout: TicketLayout, settings: PrinterSettings, transport: Transport) -> bytes:
    """Render the ticket, send it, and return the bytes sent; raise PrinterError on failure."""
    data = render_ticket(layout, settings)
    if isinstance(transport, VirtualPrinter):
        transport.send(data, preview=render_preview_png(layout, settings))
    else:
        transport.send(data)
    return data
