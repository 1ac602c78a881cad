"""The visitor's own ticket page, /t/<token>: status, place, room changes, rating. Routes only."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from kiosk import public_bp
from visits.queries.ticket_page import ticket_page
from visits.web.context import db, priyom
from visits.web.htmx import render


@public_bp.route("/t/<token>")
def ticket(token: str) -> ResponseReturnValue:
    """Open to anyone with the QR of the ticket: the token is unguessable, no surname shown."""
    info = ticket_page(db(), priyom().calendar, token=token)
    response = render("kiosk/pages/ticket.html", "kiosk/partials/_ticket_status.html", info=info)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
