"""No input gives a server error: every route, as every kind of visitor, with bad values.

The walk takes `app.url_map` as it is, so a new route is fuzzed without a change here.
Each route is called as anonymous, as each device kind and as each staff role, with
bad values in every path id and string, and in every form and query field the route's
module reads (huge ids, 2^63, full-width digits, NUL, 1 MB of text, far dates,
markup, formulas). Values are sampled per field with a fixed seed, not multiplied out,
so one run stays well under a minute per database. Any 5xx fails the test with the
list of requests that caused it.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select
from werkzeug.routing import Rule

from tests.conftest import csrf_of, login_as
from tests.factories import make_booking, make_client, make_device, make_ticket
from visits.calendar import WorkCalendar
from visits.models import DeviceKind, Service
from visits.web.auth import device_cookie_name

BIG_IDS = [
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "１２３",
    "٣",
    "1_000",
    "9" * 40,
    "1" * 5000,
]
DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "-1-01-01", "31.12.9999"]
LONG_TEXT = "Ж" * 9_000
TEXTS = [
    "\x00",
    "ab\x00cd",
    "x" * 1_000_000,
    "Ё" * 20_000,
    LONG_TEXT,
    "z" * 300,
    "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>",
    '=HYPERLINK("http://evil.example","x")',
    "+7 (913) 000-00-00\r\n-1+1@",
    "'; DROP TABLE client; --",
    "../../../etc/passwd",
    "%00%0d%0a",
    "\u202e\ufeff\U0001f600",
    "",
    " ",
]
ID_VALUES = [*BIG_IDS, "\x00", "<b>"]
DATE_VALUES = [*DATES, "\x00", "9" * 40]
# Route arguments that are not ids: the sample values for them.
PATH_TEXTS = ["\x00", "a" * 3000, "..%2F..", "<b>", "１２３", "comments", "csv", "x.csv"]
ID_FIELDS = {"to_staff", "to_service", "room", "service", "staff", "client", "minutes", "score"}
DATE_FIELDS = {"date_from", "date_to", "from", "to", "day", "date", "slot", "after", "since"}
FIELD_PATTERN = re.compile(r"""(?:form|args|values)\.get(?:list)?\(\s*["']([a-z_]+)["']""")
FIELD_INDEX_PATTERN = re.compile(r"""(?:form|args|values)\[\s*["']([a-z_]+)["']\s*\]""")
SKIP_FIELDS = {"csrf_token"}
SEED = 16


@dataclass
class Identity:
    name: str
    client: FlaskClient
    prefixes: tuple[str, ...]  # the routes where this identity is let in


@dataclass
class Failure:
    who: str
    method: str
    url: str
    fields: dict[str, str]
    status: int
    body: str

    def __str__(self) -> str:
        shown = {
            k: (v[:30] + f"...({len(v)})" if len(v) > 30 else v) for k, v in self.fields.items()
        }
        return f"{self.status} {self.who} {self.method} {self.url[:120]} {shown!r}"


@dataclass
class Walk:
    app: Flask
    real: dict[str, str]
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    # Where each route's field is in its list of bad values: every identity let in
    # takes the next few, so together they go through the whole list.
    cursor: dict[tuple[str, str, str], int] = field(default_factory=dict)
    long_sent: set[tuple[str, str, str]] = field(default_factory=set)

    def next_values(self, endpoint: str, method: str, name: str) -> list[str]:
        pool = _values_for(name)
        key = (endpoint, method, name)
        start = self.cursor.get(key, sum(map(ord, name)))
        take = 1 if pool is TEXTS else 2
        self.cursor[key] = start + take
        values = [pool[(start + i) % len(pool)] for i in range(take)]
        # Text under the edge's bound but over most columns, into every text field of every
        # route once (PostgreSQL refuses what a column cannot hold), again on every POST.
        if pool is TEXTS and (method == "POST" or key not in self.long_sent):
            self.long_sent.add(key)
            values.insert(0, LONG_TEXT)
        return values

    def send(
        self, who: Identity, method: str, url: str, fields: dict[str, str], htmx: bool
    ) -> bool:
        """Send one request; return False if this identity is not let in at all."""
        headers = {"X-CSRF-Token": csrf_of(who.client)}
        if htmx:
            headers["HX-Request"] = "true"
        if method == "GET":
            response = who.client.get(url, query_string=fields, headers=headers)
        else:
            response = who.client.open(url, method=method, data=fields, headers=headers)
        self.requests += 1
        status, location = response.status_code, response.headers.get("Location", "")
        if response.mimetype == "text/event-stream":
            response.close()
            return True
        if status >= 500:
            body = re.sub(r"\s+", " ", response.get_data(as_text=True))[:200]
            self.failures.append(Failure(who.name, method, url, fields, response.status_code, body))
        response.close()
        shut_out = status in (401, 403) or location.startswith(("/login", "/device/pair"))
        return not shut_out


def _fields_of(app: Flask, endpoint: str) -> list[str]:
    """The form and query fields the route's module reads (sorted, for a fixed order)."""
    view = inspect.unwrap(app.view_functions[endpoint])
    try:
        source = inspect.getsource(inspect.getmodule(view))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return []
    names = set(FIELD_PATTERN.findall(source)) | set(FIELD_INDEX_PATTERN.findall(source))
    return sorted(names - SKIP_FIELDS)


def _values_for(name: str) -> list[str]:
    if name == "id" or name.endswith("_id") or name in ID_FIELDS:
        return ID_VALUES
    if name in DATE_FIELDS or name.startswith("date"):
        return DATE_VALUES
    return TEXTS


def _path(rule: Rule, real: dict[str, str], bad: dict[str, str] | None = None) -> str:
    parts = []
    for is_arg, piece in rule._trace:  # noqa: SLF001 - the rule's own parsed pieces
        if not is_arg:
            parts.append(piece)
            continue
        value = (bad or {}).get(piece) or real.get(piece) or "1"
        parts.append(_quote(value))
    path = "".join(parts)
    return path[path.index("|") + 1 :] if "|" in path else path


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _walk_rule(walk: Walk, who: Identity, rule: Rule) -> None:
    methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    fields = _fields_of(walk.app, rule.endpoint)
    rng = walk.rng
    for method in methods:
        # The route as a page and as a fragment, with real ids.
        let_in = walk.send(who, method, _path(rule, walk.real), {}, htmx=False)
        let_in = walk.send(who, method, _path(rule, walk.real), {}, htmx=True) and let_in
        # Every path argument with bad values (converters run before any login check).
        for arg in sorted(rule.arguments):
            pool = BIG_IDS if _is_int_arg(rule, arg) else PATH_TEXTS
            for value in rng.sample(pool, k=2 if let_in else 1):
                walk.send(who, method, _path(rule, walk.real, {arg: value}), {}, rng.random() < 0.5)
        if not let_in:
            continue  # refused before any field is read: the fields of those who get in matter
        # Every field alone with a sample of its bad values, then all fields at once.
        for name in fields:
            for value in walk.next_values(rule.endpoint, method, name):
                walk.send(who, method, _path(rule, walk.real), {name: value}, rng.random() < 0.5)
        if fields:
            together = {name: rng.choice(_values_for(name)) for name in fields}
            walk.send(who, method, _path(rule, walk.real), together, htmx=True)


def _is_int_arg(rule: Rule, arg: str) -> bool:
    converter = rule._converters.get(arg)  # noqa: SLF001
    return converter is not None and converter.regex.startswith("[0-9]")


def _identities(app: Flask, session: Session, role_logins: dict[str, str]) -> Iterator[Identity]:
    yield Identity("anonymous", app.test_client(), ("",))
    for kind, prefixes in (
        (DeviceKind.KIOSK, ("/kiosk", "/t/", "/device")),
        (DeviceKind.DISPLAY, ("/signage",)),
        (DeviceKind.TABLET, ("/kiosk/tablet", "/t/")),
    ):
        client = app.test_client()
        _device, token = make_device(session, kind)
        client.set_cookie(device_cookie_name(kind), token)
        yield Identity(kind.value, client, prefixes)
    for role, login in role_logins.items():
        client = app.test_client()
        login_as(client, login)
        yield Identity(role, client, ("/staff", "/login", "/metrics", "/demo"))


def _real_ids(session: Session, calendar: WorkCalendar) -> dict[str, str]:
    """Ids of rows that exist, so the bad values also reach code behind a found row."""
    visitor = make_client(session)
    booking = make_booking(session, calendar, client=visitor)
    ticket = make_ticket(session, booking)
    service = session.exec(select(Service)).first()
    assert service is not None
    return {
        "booking_id": str(booking.id),
        "ticket_id": str(ticket.id),
        "client_id": str(visitor.id),
        "service_id": str(service.id),
        "token": ticket.token,
        "name": "comments",
        "action": "call",
    }


# The demo office's roles; smirnov is a specialist who heads his unit (reports of the unit).
ROLES = {
    "operator": "operator",
    "specialist": "ivanova",
    "unit head": "smirnov",
    "administrator": "admin",
}


def test_no_input_gives_a_server_error(
    app: Flask, session: Session, calendar: WorkCalendar
) -> None:
    walk = Walk(app=app, real=_real_ids(session, calendar))
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static" and "static" not in r.rule),
        key=lambda r: (r.rule, r.endpoint),
    )
    for who in _identities(app, session, ROLES):
        for rule in rules:
            if rule.rule == "/logout" and who.name in ROLES:
                continue  # would end the login the rest of the walk needs
            if who.name == "anonymous" or rule.rule.startswith(who.prefixes):
                _walk_rule(walk, who, rule)
    assert walk.requests > 1000
    # One example per route and field, so a single cause does not hide the others.
    examples: dict[tuple[str, str], Failure] = {}
    for failure in walk.failures:
        path = re.sub(r"/[^/]*[0-9][^/]*", "/<n>", failure.url)
        examples.setdefault((failure.method, path), failure)
    assert not walk.failures, f"{len(walk.failures)} of {walk.requests} requests gave 5xx:\n" + (
        "\n".join(str(f) for f in examples.values())
    )
