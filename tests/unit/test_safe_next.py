"""The `next` rule: only a path on this site, checked again after percent-decoding."""

from __future__ import annotations

import pytest

from visits.web.security import safe_next

DEFAULT = "/staff/"


@pytest.mark.parametrize(
    "target",
    [
        "/staff/today",
        "/staff/clients/12?tab=history",
        "/kiosk/",
        "/signage/?spot=f3-lift",
        "/staff/desk?q=%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2",
    ],
)
def test_paths_on_this_site_are_kept(target: str) -> None:
    assert safe_next(target, DEFAULT) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "staff/today",
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\\evil.example/",
        "\\\\evil.example",
        "/%09/evil.example/",
        "/\t/evil.example/",
        "/%2F/evil.example/",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "/staff/\nSet-Cookie: x=1",
        "/staff/%0d%0aSet-Cookie:x=1",
        "/staff/\x00",
        "/staff/\u2028",
        "/" + "a" * 5000,
    ],
)
def test_anything_else_goes_to_the_start_page(target: str | None) -> None:
    assert safe_next(target, DEFAULT) == DEFAULT
