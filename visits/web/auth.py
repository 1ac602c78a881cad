"""Staff login, CSRF protection and device tokens for the web layer."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from visits.errors import InvalidInput, PriyomError
from visits.models import Device, DeviceKind, Role, Staff
from visits.services.access import AccessRefused, access_refused_record
from visits.services.devices import device_by_token, device_pair
from visits.services.ratelimit import pairing_attempt_check, pairing_failed
from visits.services.staff import staff_login, staff_logout, staff_session_resume
from visits.web.context import db
from visits.web.htmx import hx_redirect, render
from visits.web.security import client_address, limits, safe_next, session_lifetime

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

DEVICE_COOKIE = "priyom_device"


def device_cookie_name(kind: DeviceKind | str) -> str:
    """One cookie per device kind, so one browser can be a kiosk and a display in the demo."""
    return f"{DEVICE_COOKIE}_{DeviceKind(kind).value}"


def device_token(kind: DeviceKind) -> str | None:
    """The device token this browser holds for a kind (the generic cookie as a fallback)."""
    return request.cookies.get(device_cookie_name(kind)) or request.cookies.get(DEVICE_COOKIE)


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ROLE_LABELS = {
    Role.OPERATOR.value: "оператор",
    Role.SPECIALIST.value: "специалист",
    Role.ADMINISTRATOR.value: "администратор",
}

bp = Blueprint("auth", __name__)


class CsrfError(PriyomError):
    code = "csrf"
    status = 400


def csrf_token() -> str:
    """The browser session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf() -> None:
    """Refuse an unsafe request whose token is missing or stale (every form, htmx included)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        log.warning("csrf: refused %s %s", request.method, request.path)
        raise CsrfError("Страница устарела. Обновите её и повторите действие.")


def current_staff() -> Staff | None:
    if "staff" not in g:
        g.staff = None
        token = session.get("sid")
        if token:
            g.staff = staff_session_resume(session=db(), token=token, lifetime=session_lifetime())
            if g.staff is None:
                session.pop("sid", None)
    staff: Staff | None = g.staff
    return staff


def staff_required(*roles: Role) -> Callable[[F], F]:
    """Require a logged-in staff member with any of `roles` (any role if none given)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                if request.path.startswith("/api/"):
                    return {"error": "login_required", "message": "Войдите в систему."}, 401
                return hx_redirect(url_for("auth.login", next=request.full_path))
            if roles and not any(staff.has_role(r) for r in roles):
                log.warning("forbidden: %s tried %s", staff.login, request.path)
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def refusal_audit(exc: Exception) -> None:
    """Write a logged-in staff member's refused request (403) to the audit log (§4).

    Refusals the core already audited (AccessRefused) are not written twice.
    """
    if isinstance(exc, AccessRefused) or "sid" not in session:
        return
    staff = current_staff()
    if staff is None:
        return
    code = getattr(exc, "code", 403)
    access_refused_record(
        session=db(), staff=staff, what=f"{request.method} {request.path[:300]} ({code})"
    )


def current_device(kind: DeviceKind) -> Device | None:
    if "device" not in g:
        token = device_token(kind)
        g.device = device_by_token(session=db(), token=token, kind=kind) if token else None
    device: Device | None = g.device
    return device


def device_required(kind: DeviceKind) -> Callable[[F], F]:
    """Require a paired device of this kind; staff logins open nothing here."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            device = current_device(kind)
            if device is None:
                if (
                    request.method in SAFE_METHODS
                    and not request.headers.get("HX-Request")
                    and "text/event-stream" not in request.headers.get("Accept", "")
                ):
                    return redirect(url_for("auth.pair", kind=kind.value, next=request.path))
                return {
                    "error": "device_required",
                    "message": "Устройство не привязано. Обратитесь к администратору.",
                }, 401
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    next_url = safe_next(request.values.get("next"), url_for("staff_panel.home"))
    if request.method == "POST":
        try:
            result = staff_login(
                session=db(),
                login=request.form.get("login", ""),
                password=request.form.get("password", ""),
                address=client_address(),
                limits=limits(),
            )
        except PriyomError as exc:
            error = exc.message
        else:
            session.clear()
            session.permanent = True
            session["sid"] = result.session_token
            csrf_token()
            return hx_redirect(next_url)
    return render("web/login.html", status=401 if error else 200, error=error, next_url=next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    token = session.pop("sid", None)
    if token:
        staff_logout(session=db(), token=token)
    flash("Вы вышли из системы.")
    return hx_redirect(url_for("auth.login"))


@bp.route("/device/pair", methods=["GET", "POST"])
def pair() -> ResponseReturnValue:
    kind = request.values.get("kind", "")
    next_url = safe_next(request.values.get("next"), "/")
    code = request.values.get("code", "")
    error = None
    if request.method == "POST" or (code and current_app.config.get("PRIYOM_DEMO")):
        address = client_address()
        try:
            pairing_attempt_check(session=db(), address=address, limits=limits())
            device, token = device_pair(session=db(), code=code)
        except InvalidInput as exc:
            db().rollback()
            pairing_failed(session=db(), address=address, limits=limits())
            error = exc.message
        except PriyomError as exc:
            error = exc.message
        else:
            target = {"kiosk": "/kiosk/", "display": "/signage/", "tablet": "/kiosk/tablet"}.get(
                device.kind, "/"
            )
            response = redirect(safe_next(request.values.get("next"), target), 303)
            response.set_cookie(
                device_cookie_name(device.kind),
                token,
                max_age=10 * 365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            )
            return response
    return render(
        "web/pair.html",
        status=422 if error else 200,
        error=error,
        kind=kind,
        next_url=next_url,
        code=code,
    )
