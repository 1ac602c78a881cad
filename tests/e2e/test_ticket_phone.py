"""The ticket's own page on a visitor's phone (/t/<token>), from 320 px up (§17, §36).

Opened from the printed QR while waiting, and after the visit from the final message's
link: no sideways scrolling at 320 and 390 px, a heading that fits, and after a finished
visit the five rating faces first, above the ticket's facts, without scrolling.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.whole_day_support import a11y_check
from tests.factories import make_finished_ticket
from visits.calendar import WorkCalendar
from visits.models import Ticket, TicketStatus

PHONES = {320: 568, 390: 844}
SLOTS = {320: 0, 390: 2}  # the module's server is shared: each width books its own times
SHOTS = os.environ.get("PRIYOM_PHONE_SHOTS")

# Anything wider than the screen, and the page's own scroll width.
_OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('main *')]
    .filter(el => el.checkVisibility())
    .filter(el => { const b = el.getBoundingClientRect(); return b.left < -0.5 || b.right > width + 0.5; })
    .map(el => el.tagName.toLowerCase() + '.' + String(el.className || '').split(' ')[0]);
  return {scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 8)};
}"""


def _phone(browser: Browser, live: LiveServer, width: int) -> BrowserContext:
    return browser.new_context(
        viewport={"width": width, "height": PHONES[width]},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        base_url=live.url,
        locale="ru-RU",
    )


def _fits(page: Page, where: str) -> None:
    found = page.evaluate(_OVERFLOW_JS)
    assert found == {"scroll": 0, "wide": []}, where
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{where.replace(' ', '-')}.png", full_page=True)


@pytest.mark.parametrize("width", sorted(PHONES))
def test_the_ticket_page_fits_a_phone_and_puts_the_rating_first(
    browser: Browser, live: LiveServer, open_calendar: WorkCalendar, width: int
) -> None:
    with live.session() as session:
        waiting = make_finished_ticket(
            session, open_calendar, slot=SLOTS[width], status=TicketStatus.WAITING
        )
        done = make_finished_ticket(session, open_calendar, slot=SLOTS[width] + 1)
    context = _phone(browser, live, width)
    try:
        _walk(context.new_page(), waiting, done, width)
    finally:
        context.close()


def _walk(page: Page, waiting: Ticket, done: Ticket, width: int) -> None:
    problems: list[str] = []

    page.goto(f"/t/{waiting.token}")
    expect(page.locator(".ticket-number")).to_have_text(waiting.number)
    _fits(page, f"waiting {width}")
    a11y_check(page, f"ticket page {width}: waiting", problems=problems)

    # The final message's link (§17) opens the rating alone: it fits too.
    page.goto(f"/t/{done.token}/rating?via=link")
    expect(page.locator(".rating-faces .face")).to_have_count(5)
    _fits(page, f"link {width}")
    a11y_check(page, f"rating link {width}", problems=problems)

    page.goto(f"/t/{done.token}")
    faces = page.locator(".rating-faces .face")
    expect(faces).to_have_count(5)
    _fits(page, f"finished {width}")
    # The faces come first: all five on the first screen, above the ticket's facts.
    for n in range(5):
        box = faces.nth(n).bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONES[width], f"face {n + 1}"
        assert box["width"] >= 44 and box["height"] >= 44, f"face {n + 1} is too small to tap"
    facts = page.locator(".ticket-facts").bounding_box()
    last_face = faces.nth(4).bounding_box()
    assert facts is not None and last_face is not None and last_face["y"] < facts["y"]
    title = page.get_by_role("heading", name="Оцените, пожалуйста, ваш визит")
    title_box = title.bounding_box()
    assert title_box is not None and title_box["height"] <= 2 * 36, "the heading is oversized"
    a11y_check(page, f"ticket page {width}: rating", problems=problems)

    page.get_by_role("button", name="4 Хорошо").click()
    expect(page.get_by_role("button", name="Отправить оценку")).to_be_visible()
    _fits(page, f"reasons {width}")
    a11y_check(page, f"ticket page {width}: reasons", problems=problems)
    page.get_by_text("вежливо", exact=True).click()
    page.get_by_role("button", name="Отправить оценку").click()
    expect(page.get_by_role("heading", name="Спасибо!")).to_be_visible()
    _fits(page, f"thanks {width}")
    a11y_check(page, f"ticket page {width}: thanks", problems=problems)
    assert not problems, "\n".join(problems)
