"""Names the staff screens' templates call: the desk's addresses, dates, phones, channels, QR.

Given to every template of the staff blueprint by its context processor (see
staff_panel/__init__.py); a view that passes a name of its own wins. The
routes pass only what they read or decided.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import url_for

from visits.models import CHANNEL_LABELS, Channel
from visits.phones import phone_display
from visits.queries.desk import DeskChoice
from visits.ru import WEEKDAYS_SHORT, date_short, date_with_weekday, plural
from visits.web.context import priyom
from visits.web.qr import qr_data_uri

CHANNEL_CHOICES = [(c.value, CHANNEL_LABELS[c]) for c in Channel]


def desk_url(choice: DeskChoice, endpoint: str = "staff_panel.desk", **changes: object) -> str:
    """The desk's address for `choice`, with `changes` set (or with None dropped)."""
    query = urlencode(choice.params(**changes))
    return url_for(endpoint) + (f"?{query}" if query else "")


def channel_label(value: str | None) -> str:
    """A channel's Russian name ("" for none)."""
    return CHANNEL_LABELS.get(Channel(value), value) if value else ""


def staff_template_helpers() -> dict[str, object]:
    """The helpers by the names the templates use; `local` and `today` in office time."""
    calendar = priyom().calendar
    return {
        "desk_url": desk_url,
        "phone_display": phone_display,
        "channel_label": channel_label,
        "channel_choices": CHANNEL_CHOICES,
        "date_short": date_short,
        "date_with_weekday": date_with_weekday,
        "weekdays_short": WEEKDAYS_SHORT,
        "plural": plural,
        "qr_data_uri": qr_data_uri,
        "local": calendar.to_local,
        "today": calendar.today(),
    }
