"""Accessibility of the visitor screens beyond the whole-day path (issue 9).

The whole-day scenario (test_whole_day.py) runs axe-core on every page it passes; here the
kiosk at 200% zoom (a 1080x1920 screen showing 540x960 CSS pixels at twice the size) still
checks a visitor in with nothing cut off, and the kiosk screens the scenario does not open
(code keypad, walk-in, directory) pass axe, the touch-target and the Russian-name checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.whole_day_support import a11y_check
from tests.factories import make_booking, make_client, make_device, service_by_code
from visits.calendar import WorkCalendar, utcnow
from visits.models import DeviceKind, Staff
from visits.queries.slots import free_slots

# Everything a visitor may need must fit the width: a kiosk cannot scroll sideways.
_CUT_OFF_JS = """() => {
  const width = document.documentElement.clientWidth;
  const cut = [...document.querySelectorAll('#kiosk-screen button, #kiosk-screen a[href], #kiosk-screen h1, #kiosk-screen p, [data-ticket-number]')]
    .filter(el => el.checkVisibility())
    .filter(el => { const b = el.getBoundingClientRect(); return b.left < -1 || b.right > width + 1; })
    .map(el => (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 40));
  return {overflow: document.documentElement.scrollWidth - width, cut};
}"""


def _kiosk(context: BrowserContext, live: LiveServer) -> Page:
    with live.session() as session:
        _, token = make_device(session, DeviceKind.KIOSK)
    context.add_cookies([{"name": "priyom_device", "value": token, "url": live.url}])
    page = context.new_page()
    page.goto("/kiosk/")
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    return page


def _nothing_cut_off(page: Page, where: str) -> None:
    found = page.evaluate(_CUT_OFF_JS)
    assert found == {"overflow": 0, "cut": []}, where


def test_kiosk_checks_in_at_200_percent_zoom(
    browser: Browser, live: LiveServer, open_calendar: WorkCalendar
) -> None:
    with live.session() as session:
        service = service_by_code(session, "payments")
        slot = free_slots(
            session, open_calendar, service=service, now=utcnow() + timedelta(minutes=5), days=1
        )[0]
        client = make_client(session, phone="+79137770011")
        staff = session.get(Staff, slot.staff_id)
        assert staff is not None
        make_booking(
            session,
            open_calendar,
            client=client,
            service_code="payments",
            staff_login=staff.login,
            starts_at=slot.starts_at,
            now=utcnow(),
        )
    # 200%: the kiosk's 1080x1920 pixels show 540x960 CSS pixels, each twice as big.
    context = browser.new_context(
        viewport={"width": 540, "height": 960},
        device_scale_factor=2,
        base_url=live.url,
        locale="ru-RU",
    )
    try:
        _check_in_at_zoom(_kiosk(context, live))
    finally:
        context.close()


def _check_in_at_zoom(page: Page) -> None:
    problems: list[str] = []
    _nothing_cut_off(page, "start")
    a11y_check(page, "kiosk 200%: start", problems=problems)
    page.get_by_role("button", name="Найти запись по номеру телефона").click()
    expect(page.get_by_role("heading", name="Введите номер телефона")).to_be_visible()
    _nothing_cut_off(page, "phone keypad")
    for digit in "9137770011":
        page.locator(f'.kiosk-key[data-key="{digit}"]').click()
    expect(page.get_by_text("(913) 777-00-11")).to_be_visible()
    page.get_by_role("button", name="Найти запись").click()
    expect(page.get_by_role("heading", name="Здравствуйте, Иван Петрович!")).to_be_visible()
    expect(page.locator("[data-ticket-number]")).to_be_visible()
    _nothing_cut_off(page, "ticket")
    a11y_check(page, "kiosk 200%: ticket", problems=problems)
    page.goto("/kiosk/")
    page.get_by_role("button", name="У меня есть запись на приём").click()
    expect(page.get_by_role("heading", name="Введите код записи")).to_be_visible()
    _nothing_cut_off(page, "code keypad")
    assert not problems, "\n".join(problems)


def test_other_kiosk_screens_pass_axe_and_touch_checks(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page = _kiosk(new_context("kiosk"), live)
    problems: list[str] = []
    page.get_by_role("button", name="У меня есть запись на приём").click()
    expect(page.get_by_role("heading", name="Введите код записи")).to_be_visible()
    a11y_check(page, "kiosk: code keypad", touch=True, problems=problems)
    page.goto("/kiosk/")
    page.get_by_role("button", name="Записаться без очереди").click()
    expect(page.get_by_role("heading", name="Записаться без очереди")).to_be_visible()
    a11y_check(page, "kiosk: walk-in", touch=True, problems=problems)
    page.locator(".kiosk-choice").first.click()
    expect(page.get_by_text("Шаг 1 из 3")).to_be_visible()
    a11y_check(page, "kiosk: walk-in phone", touch=True, problems=problems)
    page.goto("/kiosk/")
    page.get_by_role("button", name="Мой вопрос не к вам?").click()
    expect(page.locator("#kiosk-screen")).to_contain_text("Росреестр")
    a11y_check(page, "kiosk: directory", touch=True, problems=problems)
    assert not problems, "\n".join(problems)
