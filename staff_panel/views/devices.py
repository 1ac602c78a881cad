"""Devices (administrator): register kiosks, displays and tablets, pair them, watch printers.

Routes only. The list refreshes itself on the "printer.alert" push event and,
as a fallback, every 30 seconds.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request
from flask.typing import ResponseReturnValue

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import PriyomError
from visits.models import DeviceKind, Role
from visits.queries.devices import KIND_LABELS, devices_overview, printer_alerts
from visits.queries.ticket_page import tickets_of_day
from visits.services.devices import (
    device_create,
    device_new_pairing_code,
    printer_settings_checked,
)
from visits.services.printing import device_last_print_png, device_printer_check, ticket_reprint
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import render

nav_item("staff_panel.devices", "Устройства", Role.ADMINISTRATOR, order=80)

PAGE = "staff_panel/pages/devices.html"
PRINTER_PROFILES = ("TM-T20II", "TM-T88V", "TM-T88III", "POS-5890")
PAPER_WIDTHS = (80, 58)
CHARS_PER_LINE = (48, 42, 32)


def _list(**extra: Any) -> Response:
    calendar = priyom().calendar
    return render(
        PAGE,
        "staff_panel/partials/_devices_list.html",
        page_context=_page_context,
        devices=devices_overview(db(), calendar),
        **extra,
    )


def _page_context() -> dict[str, Any]:
    """What the whole page needs besides a fragment: a plain request gets the page, not a 500."""
    calendar = priyom().calendar
    return {
        "devices": devices_overview(db(), calendar),
        "tickets": tickets_of_day(db(), calendar, day=calendar.today()),
        **_form(),
    }


def _form(**extra: Any) -> dict[str, Any]:
    config = priyom().config
    return {
        "kinds": KIND_LABELS,
        "spots": config.spots,
        "rooms": [r for r in config.rooms if r.kind == "office"],
        "profiles": PRINTER_PROFILES,
        "paper_widths": PAPER_WIDTHS,
        "chars_per_line": CHARS_PER_LINE,
        "printer": _printer_defaults(),
        "values": request.form if request.method == "POST" else {},
        **extra,
    }


def _printer_defaults() -> Any:
    """The printer fields as the chosen model (and address) fill them; the form may change them."""
    source = request.values
    profile = source.get("printer_profile") or PRINTER_PROFILES[0]
    try:
        return printer_settings_checked(
            profile=profile if profile in PRINTER_PROFILES else PRINTER_PROFILES[0],
            uri=(source.get("printer_uri") or "").strip() or None,
        )
    except PriyomError:
        return printer_settings_checked(profile=PRINTER_PROFILES[0])


def _int(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() else None


@bp.route("/devices")
@staff_required(Role.ADMINISTRATOR)
def devices() -> ResponseReturnValue:
    calendar = priyom().calendar
    return render(
        PAGE,
        "staff_panel/partials/_devices_list.html",
        devices=devices_overview(db(), calendar),
        tickets=tickets_of_day(db(), calendar, day=calendar.today()),
        **_form(),
    )


@bp.route("/devices/list")
@staff_required(Role.ADMINISTRATOR)
def devices_list() -> ResponseReturnValue:
    return _list()


@bp.route("/devices", methods=["POST"])
@staff_required(Role.ADMINISTRATOR)
def devices_create() -> ResponseReturnValue:
    form = request.form
    kind = form.get("kind", "")
    try:
        device, code = device_create(
            session=db(),
            kind=DeviceKind(kind) if kind in KIND_LABELS else DeviceKind.KIOSK,
            name=form.get("name", ""),
            spot_key=form.get("spot_key") or None,
            room_number=form.get("room_number") or None,
            printer_uri=(form.get("printer_uri") or "").strip() or None,
            printer_profile=form.get("printer_profile") or PRINTER_PROFILES[0],
            printer_native_qr=form.get("printer_native_qr") == "on",
            printer_paper_mm=_int("printer_paper_mm"),
            printer_width_chars=_int("printer_width_chars"),
            printer_confirms=form.get("printer_confirms") == "on",
        )
    except PriyomError as exc:
        return render(
            PAGE, "staff_panel/partials/_devices_form.html", status=422, **_form(error=exc.message)
        )
    return render(
        PAGE,
        "staff_panel/partials/_devices_form.html",
        trigger={"devices-changed": True},
        **_form(created=device, code=code, values={}),
    )


@bp.route("/devices/printer-fields")
@staff_required(Role.ADMINISTRATOR)
def devices_printer_fields() -> ResponseReturnValue:
    """The printer fields filled from the chosen model: paper, columns, QR, status answers."""
    return render(
        PAGE, "staff_panel/partials/_devices_printer.html", page_context=_page_context, **_form()
    )


@bp.route("/devices/<int:device_id>/last-ticket.png")
@staff_required(Role.ADMINISTRATOR)
def devices_last_ticket(device_id: int) -> ResponseReturnValue:
    """The last ticket sent to a kiosk's printer, drawn from the bytes it got."""
    png = device_last_print_png(session=db(), device_id=device_id)
    if png is None:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/devices/<int:device_id>/code", methods=["POST"])
@staff_required(Role.ADMINISTRATOR)
def devices_new_code(device_id: int) -> ResponseReturnValue:
    code = device_new_pairing_code(session=db(), device_id=device_id)
    return _list(code_for=device_id, code=code)


@bp.route("/devices/<int:device_id>/check", methods=["POST"])
@staff_required(Role.ADMINISTRATOR)
def devices_check(device_id: int) -> ResponseReturnValue:
    status = device_printer_check(session=db(), device_id=device_id)
    return _list(checked=device_id, printer_status=status)


@bp.route("/devices/tickets/<int:ticket_id>/reprint", methods=["POST"])
@staff_required(Role.ADMINISTRATOR)
def devices_reprint(ticket_id: int) -> ResponseReturnValue:
    staff = current_staff()
    assert staff is not None
    try:
        outcome = ticket_reprint(
            session=db(), calendar=priyom().calendar, ticket_id=ticket_id, staff=staff
        )
    except PriyomError as exc:
        message, ok = exc.message, False
    else:
        ok = outcome.printed
        message = (
            "Талон напечатан."
            if outcome.status == "done"
            else "Талон отправлен на принтер; принтер не сообщает, вышел ли он."
            if ok
            else f"Не напечатан: {outcome.error}"
        )
    return render(
        PAGE,
        "staff_panel/partials/_devices_reprint.html",
        page_context=_page_context,
        ticket_id=ticket_id,
        message=message,
        ok=ok,
        trigger={"devices-changed": True},
    )


@bp.route("/devices/alert")
@staff_required()
def devices_alert() -> ResponseReturnValue:
    """The printer alert every staff panel shows under its header (empty when all is well)."""
    return render(
        "staff_panel/partials/_devices_alert.html",
        "staff_panel/partials/_devices_alert.html",
        alerts=printer_alerts(db()),
    )
