"""Pieces of the whole-day scenario: a printer on a TCP port, ESC/POS decoding, axe-core checks.

The SMTP server and the SMS gateway are the notify tests' own (tests/unit/test_notify.py).
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.e2e.conftest import morning_timezone
from tests.unit.test_notify import SmsGateway, SmtpSink, free_port

__all__ = [
    "AXE",
    "PrinterSink",
    "SmsGateway",
    "SmtpSink",
    "a11y_check",
    "decode_ticket",
    "free_port",
    "office_config_text",
]

AXE = Path(__file__).resolve().parents[2] / "visits/web/static/vendor/axe.min.js"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "visits/demo_office.toml"


def office_config_text(*, base_url: str, smtp_port: int, sms_url: str) -> str:
    """The demo office as the live server of the scenario runs it.

    - check-in opens four hours before the visit (the longest the config allows), so a
      visitor booked by phone more than two hours ahead (the two-hour reminder) can come now;
    - messages may go at any hour (the test office works around the clock), so the
      reminder is due exactly two hours before the visit;
    - the ticket's QR carries the live server's address;
    - e-mail and SMS leave through the local SMTP server and SMS gateway;
    - the office's time zone is one where it is now about 9 in the morning, so the
      whole day fits before local midnight whenever the test runs.
    """
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    replacements = [
        (r'timezone = ".*"', f'timezone = "{morning_timezone()}"'),
        (r'public_base_url = ".*"', f'public_base_url = "{base_url}"'),
        (r"checkin_opens_minutes_before = \d+", "checkin_opens_minutes_before = 240"),
        (r'email_uri = ".*"', f'email_uri = "smtp://127.0.0.1:{smtp_port}"'),
        (r'sms_uri = ".*"', f'sms_uri = "{sms_url}"'),
        (r"day_window = \[.*\]", 'day_window = ["00:00", "23:59"]\nearly_window_start = "00:00"'),
    ]
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text, count=1)
        assert count == 1, pattern
    return text


@dataclass
class PrinterSink:
    """A network receipt printer played by a thread: every connection is one job (port 9100)."""

    port: int = 0
    jobs: list[bytes] = field(default_factory=list)
    _server: socket.socket | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> PrinterSink:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                job = bytearray()
                while data := conn.recv(65536):
                    job += data
                    # Like a real printer, answer each status request (DLE EOT n) at once:
                    # online, with paper, no error. The job kept is the ticket's bytes only.
                    while (at := job.find(b"\x10\x04")) != -1 and len(job) >= at + 3:
                        conn.sendall(b"\x12")
                        del job[at : at + 3]
            with self._arrived:
                self.jobs.append(bytes(job))
                self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 15.0) -> bytes:
        """The `count`-th job, once it has arrived whole (the sender closed its connection)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.jobs) >= count, timeout), (
                f"the printer got {len(self.jobs)} job(s), expected {count}"
            )
            return self.jobs[count - 1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@dataclass(frozen=True)
class PrintedTicket:
    text: str  # the CP866 text runs, decoded
    qr: list[str]  # payloads of GS ( k "store" commands
    codepage_cp866: bool  # ESC t 17 selected CP866


def decode_ticket(job: bytes) -> PrintedTicket:
    """Read an ESC/POS job: the QR payloads it stores and its text in CP866."""
    qr: list[str] = []
    rest = bytearray()
    i = 0
    while i < len(job):
        # GS ( k pL pH cn=49 fn=80 m=48 data: store the QR symbol's data.
        if job[i : i + 3] == b"\x1d(k":
            size = job[i + 3] + 256 * job[i + 4]
            body = job[i + 5 : i + 5 + size]
            if body[:3] == b"1P0":
                qr.append(body[3:].decode("ascii"))
            i += 5 + size
            continue
        rest.append(job[i])
        i += 1
    text = bytes(rest).decode("cp866", errors="replace")
    return PrintedTicket(text=text, qr=qr, codepage_cp866=b"\x1bt\x11" in job)


# --- accessibility -------------------------------------------------------------------------

_NAMES_JS = """() => {
  // One synchronous pass: the DOM cannot change between building axe's tree and reading it.
  axe.setup(document);
  try {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, [role=button], [role=link], [role=radio], [role=checkbox], [role=gridcell][href]';
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true})) continue;
    if (el.closest('[aria-hidden=true]')) continue;
    const vnode = axe.utils.getNodeFromTree(el);
    const name = vnode ? axe.commons.text.accessibleTextVirtual(vnode).trim() : '';
    out.push({tag: el.tagName.toLowerCase(), id: el.id, cls: el.className && String(el.className),
              name});
  }
  return out;
  } finally { axe.teardown(); }
}"""

_TARGETS_JS = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true}))
  .map(el => {
    const box = el.getBoundingClientRect();
    return {text: (el.innerText || el.getAttribute('aria-label') || el.id || '').trim().slice(0, 60),
            w: Math.round(box.width), h: Math.round(box.height)};
  })
  .filter(t => t.w < 64 || t.h < 64)"""

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN = re.compile(r"[A-Za-z]")
# Latin abbreviations a Russian reader reads as they are: SMS, QR, PDF, CSV, JSON.
ACRONYM = re.compile(r"^[A-Z]{2,4}$")


def russian_name(name: str) -> bool:
    """A name in Russian, or one a Russian reader needs no translation of (digits, a key, SMS)."""
    name = name.strip()
    if not name:
        return False
    return (
        bool(CYRILLIC.search(name))
        or len(name) == 1
        or not LATIN.search(name)
        or bool(ACRONYM.match(name))
    )


def _inject(page: Page) -> None:
    """Load axe-core from the server's own vendored copy.

    The pages' Content-Security-Policy allows scripts only from the same origin, so the
    file is added by its URL, never as inline content.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        origin = page.evaluate("location.origin")
        page.add_script_tag(url=f"{origin}/static/vendor/{AXE.name}")


def a11y_check(
    page: Page,
    where: str,
    *,
    enhanced_contrast: bool = False,
    touch: bool = False,
    problems: list[str],
) -> None:
    """Run axe-core and our own checks on the page as it is now; add findings to `problems`.

    - axe: no serious or critical violation (WCAG 2.x A/AA and best practices, with the
      label-in-name rule; the hallway display also the AAA contrast rule, 7:1);
    - every visible control has an accessible name in Russian;
    - on touch screens (kiosk, tablet) every button and link is at least 64x64 px.
    """
    _inject(page)
    # The name of a control holds its visible words (WCAG 2.5.3, axe's experimental rule):
    # someone who says «15 мин» to a voice control reaches the button that shows it.
    rules: dict[str, Any] = {"label-content-name-mismatch": {"enabled": True}}
    if enhanced_contrast:
        rules["color-contrast-enhanced"] = {"enabled": True}
    options: dict[str, Any] = {"resultTypes": ["violations"], "rules": rules}
    result = page.evaluate("(options) => axe.run(document, options)", options)
    if enhanced_contrast:
        ran = {r["id"] for kind in ("passes", "violations", "incomplete") for r in result[kind]}
        assert "color-contrast-enhanced" in ran, f"{where}: the 7:1 contrast rule did not run"
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical") or (
            enhanced_contrast and violation["id"] == "color-contrast-enhanced"
        ):
            targets = [", ".join(n["target"]) for n in violation["nodes"][:5]]
            why = " ".join(violation["nodes"][0].get("failureSummary", "").split())[:300]
            problems.append(
                f"{where}: axe {violation['id']} ({violation['impact']}): {violation['help']} "
                f"-> {targets}; first: {why}"
            )
    controls = page.evaluate(_NAMES_JS)
    for control in controls:
        if not russian_name(control["name"]):
            problems.append(
                f"{where}: control without a Russian name: <{control['tag']} id={control['id']!r} "
                f"class={control['cls']!r}> named {control['name']!r}"
            )
    if touch:
        small = page.evaluate(_TARGETS_JS, "button, a[href], [role=button], label:has(input)")
        for target in small:
            problems.append(
                f"{where}: touch target {target['w']}x{target['h']} px < 64: {target['text']!r}"
            )
