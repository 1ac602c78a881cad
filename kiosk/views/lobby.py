"""Lobby kiosk: routes only."""

from typing import Any

from kiosk import bp
from visits.models import DeviceKind
from visits.web.auth import device_required
from visits.web.htmx import render


@bp.route("/")
@device_required(DeviceKind.KIOSK)
def start() -> Any:
    return render("kiosk/pages/start.html")
