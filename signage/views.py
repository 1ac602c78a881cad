"""Hallway displays: routes only."""

from typing import Any

from signage import bp
from visits.models import DeviceKind
from visits.web.auth import device_required
from visits.web.htmx import render


@bp.route("/")
@device_required(DeviceKind.DISPLAY)
def board() -> Any:
    return render("signage/pages/board.html")
