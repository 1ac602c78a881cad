"""Lobby kiosk: check-in by QR, code or phone; walk-ins; the directory (§26). Routes only.

Every screen is one fragment with the root id `kiosk-screen`, swapped whole
(outerHTML); a full page load renders the same fragment inside the page.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import abort, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from kiosk import bp
from printer import VirtualPrinter, render_bytes_png
from visits.errors import InvalidInput, PriyomError
from visits.models import Device, DeviceKind
from visits.services.booking import CODE_ALPHABET, CODE_LENGTH
from visits.services.checkin import (
    CheckinRefused,
    CheckinResult,
    WalkinResult,
    checkin_bookings_by_phone,
    checkin_by_phone,
    checkin_late_rebook,
    ticket_checkin,
    walkin_book,
    walkin_offers,
    walkin_times,
)
from visits.services.printing import (
    ELSEWHERE,
    device_last_print,
    device_printer_settings,
    device_transport,
    print_job_run,
    ticket_url,
)
from visits.services.ratelimit import kiosk_lookup_hit
from visits.web.auth import current_device, device_required
from visits.web.context import db, priyom
from visits.web.htmx import fragment_or_redirect, hx_redirect, render
from visits.web.qr import qr_svg
from visits.web.security import limits

PAGE = "kiosk/pages/checkin.html"
# The on-screen keyboard for names (walk-ins): Russian letters in the ЙЦУКЕН order.
NAME_KEYS = ("ЙЦУКЕНГШЩЗХ", "ФЫВАПРОЛДЖЭ", "ЯЧСМИТЬБЮЁЪ")
# Print results that leave the ticket on screen with its QR: not printed, printed on a
# printer that cannot confirm it, or the booking's ticket given at another kiosk.
ON_SCREEN = ("failed", "sent", ELSEWHERE)


def _device() -> Device:
    device = current_device(DeviceKind.KIOSK)
    assert device is not None and device.id is not None
    return device


def _screen(partial: str, *, status: int = 200, **context: Any) -> Response:
    """Render one kiosk screen: the fragment for htmx, the whole page otherwise."""
    name = f"kiosk/partials/_checkin_{partial}.html"
    return render(PAGE, name, status=status, screen=name, **context)


def _message(exc: PriyomError, **context: Any) -> Response:
    # 200, so htmx swaps the screen in; the message itself says what went wrong.
    return _screen("message", message=exc.message, reason=exc.code, **context)


@bp.route("/")
@device_required(DeviceKind.KIOSK)
def start() -> ResponseReturnValue:
    offers = walkin_offers(db(), priyom().calendar)
    return _screen("start", has_walkin=bool(offers))


@bp.route("/checkin/code")
@device_required(DeviceKind.KIOSK)
def code_keypad() -> ResponseReturnValue:
    return _screen("code", alphabet=CODE_ALPHABET, code_length=CODE_LENGTH)


@bp.route("/checkin/phone")
@device_required(DeviceKind.KIOSK)
def phone_keypad() -> ResponseReturnValue:
    return _screen("phone")


@bp.route("/checkin/code", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def checkin_code() -> ResponseReturnValue:
    code = request.form.get("code", "")
    try:
        # The look-up is counted by the check-in, in its one transaction.
        result = ticket_checkin(
            session=db(),
            calendar=priyom().calendar,
            code=code,
            device_id=_device().id or 0,
            limits=limits(),
        )
    except CheckinRefused as refused:
        return _refused(refused, code=code)
    except PriyomError as exc:
        return _message(exc)
    return _ticket(result)


@bp.route("/checkin/phone", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def checkin_phone() -> ResponseReturnValue:
    phone = request.form.get("phone", "")
    calendar = priyom().calendar
    try:
        _lookup()
        matches = checkin_bookings_by_phone(
            session=db(), calendar=calendar, phone=phone, device_id=_device().id or 0
        )
        if len(matches) == 1:
            result = checkin_by_phone(
                session=db(),
                calendar=calendar,
                phone=phone,
                booking_id=matches[0].booking_id,
                device_id=_device().id or 0,
            )
            return _ticket(result)
    except CheckinRefused as refused:
        return _refused(refused)
    except PriyomError as exc:
        return _message(exc)
    return _screen("choose", matches=matches, phone=phone)


@bp.route("/checkin/choose", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def checkin_choose() -> ResponseReturnValue:
    try:
        _lookup()
        result = checkin_by_phone(
            session=db(),
            calendar=priyom().calendar,
            phone=request.form.get("phone", ""),
            booking_id=request.form.get("booking_id", type=int) or 0,
            device_id=_device().id or 0,
        )
    except CheckinRefused as refused:
        return _refused(refused)
    except PriyomError as exc:
        return _message(exc)
    return _ticket(result)


@bp.route("/checkin/late", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def checkin_late() -> ResponseReturnValue:
    try:
        _lookup()
        result = checkin_late_rebook(
            session=db(),
            calendar=priyom().calendar,
            code=request.form.get("code", ""),
            device_id=_device().id or 0,
            submit_key=request.form.get("submit_key", ""),
            slot=request.form.get("slot", ""),
        )
    except PriyomError as exc:
        return _message(exc)
    return _walkin_done(result)


@bp.route("/walkin")
@device_required(DeviceKind.KIOSK)
def walkin() -> ResponseReturnValue:
    return _screen("walkin", offers=walkin_offers(db(), priyom().calendar))


@bp.route("/walkin/<int:service_id>")
@device_required(DeviceKind.KIOSK)
def walkin_form(service_id: int) -> ResponseReturnValue:
    offer = next(
        (o for o in walkin_offers(db(), priyom().calendar) if o.service_id == service_id), None
    )
    if offer is None:
        return _message(InvalidInput("На сегодня свободного времени по этому вопросу уже нет."))
    calendar = priyom().calendar
    return _screen(
        "walkin_form",
        offer=offer,
        times=walkin_times(db(), calendar, service_id=service_id),
        submit_key=secrets.token_urlsafe(16),
        name_keys=NAME_KEYS,
    )


@bp.route("/walkin/<int:service_id>/later")
@device_required(DeviceKind.KIOSK)
def walkin_later(service_id: int) -> ResponseReturnValue:
    """§29 «позже»: the next few free times after the last one shown."""
    after = _after_arg()
    return fragment_or_redirect(
        "kiosk/partials/_walkin_times.html",
        url_for("kiosk.walkin_form", service_id=service_id),
        lambda: {
            "times": walkin_times(db(), priyom().calendar, service_id=service_id, after=after),
            "service_id": service_id,
        },
    )


def _after_arg() -> datetime | None:
    raw = request.args.get("after", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    return datetime.fromtimestamp(int(raw), tz=UTC)


@bp.route("/walkin", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def walkin_submit() -> ResponseReturnValue:
    form = request.form
    try:
        result = walkin_book(
            session=db(),
            calendar=priyom().calendar,
            service_id=form.get("service_id", type=int) or 0,
            phone=form.get("phone", ""),
            surname=form.get("surname", ""),
            first_name=form.get("first_name", ""),
            patronymic=form.get("patronymic", ""),
            consent=form.get("consent") == "yes",
            device_id=_device().id or 0,
            submit_key=form.get("submit_key", ""),
            limits=limits(),
            slot=form.get("slot", ""),
            channel=form.get("channel", "sms"),
            second_channel=form.get("second_channel", ""),
        )
    except CheckinRefused as refused:
        return _refused(refused)
    except PriyomError as exc:
        return _message(exc)
    return _walkin_done(result)


@bp.route("/print/<int:job_id>", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def print_job(job_id: int) -> ResponseReturnValue:
    """Print the ticket of this press: after the check-in, bounded by the printer's timeout."""
    outcome = print_job_run(
        session=db(),
        calendar=priyom().calendar,
        job_id=job_id,
        device_id=_device().id,
        transport_for=device_transport,
    )
    on_screen = outcome.status in ON_SCREEN and outcome.ticket_path
    return render(
        PAGE,
        "kiosk/partials/_checkin_print.html",
        outcome=outcome,
        job_id=job_id,
        qr_svg=_qr_svg(outcome.ticket_path) if on_screen else "",
    )


@bp.route("/directory")
@device_required(DeviceKind.KIOSK)
def directory() -> ResponseReturnValue:
    """§26: who handles questions outside the department's remit."""
    return _screen("directory", entries=priyom().config.directory)


@bp.route("/printer")
@device_required(DeviceKind.KIOSK)
def virtual_printer_page() -> ResponseReturnValue:
    """The last tickets this kiosk's printer got, drawn from the bytes sent.

    A virtual printer keeps its last jobs; a real one shows the last ticket sent to it.
    """
    device = _device()
    transport = device_transport(device)
    if isinstance(transport, VirtualPrinter):
        previews = [
            {"at": job.at, "png": base64.b64encode(job.preview_png).decode("ascii")}
            for job in reversed(transport.jobs)
            if job.preview_png
        ][:12]
        printer_off = transport.status().online is False
    else:
        last = device_last_print(session=db(), device_id=device.id or 0)
        png = render_bytes_png(last[0], device_printer_settings(device)) if last else b""
        previews = [{"at": last[1], "png": base64.b64encode(png).decode("ascii")}] if last else []
        printer_off = False
    return render(
        "kiosk/pages/printer.html",
        previews=previews,
        printer_off=printer_off,
        virtual=isinstance(transport, VirtualPrinter),
        demo=priyom().demo,
    )


@bp.route("/printer/power", methods=["POST"])
@device_required(DeviceKind.KIOSK)
def virtual_printer_power() -> ResponseReturnValue:
    """Demo: switch the virtual printer off and on, to show what a printer fault looks like."""
    transport = device_transport(_device())
    if not priyom().demo or not isinstance(transport, VirtualPrinter):
        abort(404)
    transport.fail_with("offline" if request.form.get("state") == "off" else None)
    return hx_redirect(url_for("kiosk.virtual_printer_page"))


def _lookup() -> None:
    """Count one look-up of this kiosk: codes, phones and choices together (Limits)."""
    kiosk_lookup_hit(session=db(), device_id=_device().id or 0, limits=limits())


def _ticket(result: CheckinResult) -> Response:
    url = ticket_url(result.info, priyom().config)
    return _screen("ticket", result=result, info=result.info, ticket_url=url)


def _walkin_done(result: WalkinResult) -> Response:
    if result.checkin is not None:
        return _ticket(result.checkin)
    return _screen("booked", result=result)


def _refused(refused: CheckinRefused, code: str = "") -> Response:
    calendar = priyom().calendar
    offer_time = f"{calendar.to_local(refused.offer.starts_at):%H:%M}" if refused.offer else ""
    # §29: a late visitor chooses among today's nearest free times, not one imposed.
    times = (
        walkin_times(db(), calendar, service_id=refused.service_id)
        if refused.reason == "too_late" and refused.service_id
        else []
    )
    return _screen(
        "message",
        message=refused.message,
        reason=refused.reason,
        offer_time=offer_time,
        times=times,
        service_id=refused.service_id,
        code=code,
        submit_key=secrets.token_urlsafe(16),
    )


def _qr_svg(path: str) -> str:
    """The ticket page's QR as inline SVG, for the on-screen ticket when printing failed."""
    return qr_svg(priyom().config.office.public_base_url.rstrip("/") + path, box_size=12)
