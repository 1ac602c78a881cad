"""§ numbers are for the code and the reports, not for the person at the desk (issue 19).

Every template a person reads (staff panel, kiosk, tablet, display, the web shell) is
scanned with its Jinja and HTML comments taken out: no «§» may be left. The reports name
their sections with the order's items from staff_panel/views/reports.py, not a template.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("staff_panel", "kiosk", "signage", "visits/web")
COMMENTS = re.compile(r"\{#.*?#\}|<!--.*?-->", re.S)


def order_numbers_shown(text: str) -> list[str]:
    """The «§…» a template would show, its comments left out."""
    return re.findall(r".{0,40}§[\d.\-–]*", COMMENTS.sub("", text))


def test_no_template_shows_an_order_number() -> None:
    shown = {
        str(path.relative_to(ROOT)): found
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.html"))
        if (found := order_numbers_shown(path.read_text(encoding="utf-8")))
    }
    assert not shown, shown


def test_the_scan_sees_text_and_skips_comments() -> None:
    assert order_numbers_shown("<p>Передач уже было: 1 из 2 (§23).</p>")
    assert not order_numbers_shown("{# §23: at most two #}<p>Передач уже было</p>")
    assert not order_numbers_shown("<!-- §36 -->")
