"""The edge of the web layer: safe redirects, bounded ids and text, security headers.

Everything here runs before a view or after it, so views stay as they are:
a request that could only make the database fail (an id beyond the column,
a NUL byte, a megabyte in a search box) is answered here with a clear
Russian message instead of a server error.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.routing import BaseConverter, ValidationError

from visits.errors import InvalidInput
from visits.services.ratelimit import Limits
from visits.settings import SettingsError

log = logging.getLogger(__name__)

# Ids are INTEGER columns: PostgreSQL refuses anything at or above 2^31 with an error
# (SQLite at 2^63), so a larger id names nothing and is answered as "no such page".
MAX_ID = 2**31 - 1
# The longest value any form or query field may carry; every text column is shorter
# (notes 4000, messages 8000). Longer values are refused before a view sees them.
MAX_FIELD_CHARS = 10_000
MAX_NEXT_CHARS = 2_000
# No number we read is longer (phones 15 digits, ids 10); Python refuses to read an int
# of more than 4300 digits at all, so a longer one must never reach int().
MAX_NUMBER_DIGITS = 64


class BadRequestInput(InvalidInput):
    """A value no form of ours sends: refused at the edge with 400."""

    status = 400


class BoundedIntConverter(BaseConverter):
    """`<int:...>` for ids: ASCII digits only, 0..2^31-1; anything else is a 404.

    Werkzeug's own converter accepts any Unicode digit (full-width "１２") and any size.
    """

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(map)

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def safe_next(target: str | None, default: str) -> str:
    """Return `target` if it is a path on this site, else `default`.

    Refused: a scheme or host, `//` and `\\` (browsers read both as another host),
    control characters (a browser drops a tab or newline, so `/\\t/evil` becomes
    `//evil`; a newline breaks the Location header), and all of these again after
    percent-decoding, since the path may be decoded once more on the way.
    """
    if not target or len(target) > MAX_NEXT_CHARS:
        return default
    candidate = target
    for _ in range(3):
        if not _plain_path(candidate):
            return default
        decoded = unquote(candidate)
        if decoded == candidate:
            return target
        candidate = decoded
    return default


def _plain_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def is_bounded_id(raw: str) -> bool:
    """True for an id a row can have: ASCII digits, 0..2^31-1 (0 means "none" in some forms)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_ID


def _is_number(raw: str) -> bool:
    """True if int() would read it (or fail only for its size): "-5", "1_000", "１２"."""
    core = raw.strip().lstrip("+-").replace("_", "")
    return core.isdigit()


def parse_id(raw: str | None) -> int | None:
    """An id from a form or query value: ASCII digits in 1..2^31-1, else None."""
    value = (raw or "").strip()
    return int(value) if is_bounded_id(value) and int(value) > 0 else None


def _is_id_field(name: str) -> bool:
    """Form and query fields named `id` or `*_id` carry a row id (walk-in, merge, choose)."""
    return name == "id" or name.endswith("_id")


def _check_values(values: MultiDict[str, str], where: str) -> None:
    for name, value in values.items(multi=True):
        if "\x00" in name or "\x00" in value:
            log.warning("edge: NUL byte in %s field %r on %s", where, name[:40], request.path)
            raise BadRequestInput("В запросе недопустимый символ. Исправьте значение и повторите.")
        if len(value) > MAX_FIELD_CHARS:
            log.warning("edge: %d chars in %s field %r", len(value), where, name[:40])
            raise BadRequestInput(
                f"Слишком длинное значение: не больше {MAX_FIELD_CHARS} символов.", field=name
            )
        if len(value) > MAX_NUMBER_DIGITS and _is_number(value):
            log.warning("edge: %d-digit number in %s field %r", len(value), where, name[:40])
            raise BadRequestInput("Слишком длинное число. Исправьте значение.", field=name)
        # A number where an id goes must be one a row can have; anything else that is
        # not a number at all the views already read as "nothing chosen".
        if _is_id_field(name) and _is_number(value) and not is_bounded_id(value.strip()):
            log.warning("edge: bad id %r in %s field %r", value[:40], where, name[:40])
            raise BadRequestInput("Выберите значение из списка.", field=name)


def check_request_input() -> None:
    """Refuse NUL bytes, overlong values and impossible ids in the path, query and form."""
    if "\x00" in request.path:
        raise BadRequestInput("В адресе недопустимый символ.")
    _check_values(request.args, "query")
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        _check_values(request.form, "form")


# --- headers ------------------------------------------------------------------

# Every script and style is a file of ours: no inline script, no eval. htmx's own
# indicator style is switched off in base templates (htmx.config.includeIndicatorStyles).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A file handed out (a history export opened for printing) is a document of its own:
# its styles are inside it, and it may run nothing at all.
DOCUMENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)
# Staff pages show personal data, kiosk screens and ticket pages a visitor's name:
# no copy may stay in a browser's or proxy's cache (static files may).
NO_STORE_PREFIXES = ("/staff", "/login", "/kiosk", "/t/", "/device")


# What every answer carries unless its view set the header itself.
_EVERY_ANSWER = (
    ("x-content-type-options", "X-Content-Type-Options", "nosniff"),
    ("referrer-policy", "Referrer-Policy", "same-origin"),
    ("x-frame-options", "X-Frame-Options", "DENY"),
)


def security_headers(response: Response) -> Response:
    """Add the headers every answer carries.

    The names present are read once (a header looked up by name is a scan of the
    list): this runs after every request.
    """
    headers = response.headers
    present = {name.lower() for name, _value in headers}
    for key, name, value in _EVERY_ANSWER:
        if key not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        if "content-disposition" in present:
            policy = DOCUMENT_SECURITY_POLICY
        else:
            policy = current_app.config.get("PRIYOM_CSP", CONTENT_SECURITY_POLICY)
        headers.add("Content-Security-Policy", policy)
    path = request.path
    if path.startswith(NO_STORE_PREFIXES) and "/static/" not in path:
        _header_replace(headers, present, "Cache-Control", "no-store")
        _header_replace(headers, present, "Pragma", "no-cache")
    return response


def _header_replace(headers: Headers, present: set[str], name: str, value: str) -> None:
    """Set a header, replacing a view's own value if it set one."""
    if name.lower() in present:
        headers[name] = value
    else:
        headers.add(name, value)


# --- /metrics -----------------------------------------------------------------


DEFAULT_METRICS_ALLOW = "127.0.0.1/32,::1/128"


def metrics_guard() -> None:
    """Refuse /metrics to anyone without the token and outside the allow-list."""
    if request.endpoint == "ops.metrics" and not metrics_allowed():
        log.warning("metrics refused to %s", request.remote_addr)
        abort(403)


def metrics_allowed() -> bool:
    """True if this request may read /metrics: the token, or an address on the allow-list.

    With neither setting, only the machine itself (127.0.0.1, ::1) may read it.
    """
    token = str(current_app.config.get("PRIYOM_METRICS_TOKEN") or "")
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    allowed = _networks(current_app.config.get("PRIYOM_METRICS_ALLOW", DEFAULT_METRICS_ALLOW))
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed)


def _networks(spec: str | Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks = []
    for item in items:
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return networks


def client_address() -> str:
    """The client's address as the server saw it (behind nginx: ProxyFix sets it)."""
    return re.sub(r"[^0-9a-fA-F:.]", "", request.remote_addr or "")[:45] or "unknown"


def install_converters(app: Flask) -> None:
    """Make every `<int:...>` in the app a bounded id (before any route is added)."""
    app.url_map.converters["int"] = BoundedIntConverter


def limits_install(app: Flask) -> None:
    """Build the limits (PRIYOM_LIMITS) and read the /metrics allow-list once; wrong ones stop start-up."""
    try:
        app.extensions["priyom_limits"] = Limits.with_overrides(app.config.get("PRIYOM_LIMITS"))
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"PRIYOM_LIMITS: {exc}") from None
    try:
        _networks(app.config.get("PRIYOM_METRICS_ALLOW", DEFAULT_METRICS_ALLOW))
    except ValueError as exc:
        raise SettingsError(f"PRIYOM_METRICS_ALLOW: {exc}") from None


def limits() -> Limits:
    """The limits of the current app (visits.services.ratelimit.Limits)."""
    found: Limits = current_app.extensions["priyom_limits"]
    return found


def session_lifetime() -> timedelta:
    """How long a staff login lives at most (PRIYOM_SESSION_HOURS, Flask's session lifetime)."""
    lifetime: timedelta = current_app.permanent_session_lifetime
    return lifetime
