"""The start page with the four screens, health checks and demo helpers."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask.typing import ResponseReturnValue

from visits.models import Device, DeviceKind
from visits.queries.devices import devices_active
from visits.services.devices import device_new_pairing_code
from visits.web.context import db, priyom
from visits.web.htmx import render

bp = Blueprint("home", __name__)


@bp.route("/")
def index() -> ResponseReturnValue:
    devices = devices_active(db()) if priyom().demo else []
    return render("web/index.html", devices=devices, demo=priyom().demo)


@bp.route("/demo/open/<int:device_id>")
def demo_open_device(device_id: int) -> ResponseReturnValue:
    """Demo only: pair this browser as a demo device in one click."""
    if not priyom().demo:
        abort(404)
    device = db().get(Device, device_id)
    if device is None:
        abort(404)
    code = device_new_pairing_code(session=db(), device_id=device_id)
    return redirect(url_for("auth.pair", kind=device.kind, code=code))


__all__ = ["DeviceKind", "bp"]
