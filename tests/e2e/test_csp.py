"""The Content-Security-Policy breaks no screen: kiosk, desk, today, display, tablet.

Each screen is opened in a real browser with the policy the server sends, used a
little (an htmx swap, a keypad, a search), and the test fails on any violation the
browser reports: a `securitypolicyviolation` event or a console message about the
policy. A screen that works only with inline script, inline style or eval fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from tests.e2e.conftest import LiveServer, device_page, staff_page
from tests.factories import make_booking
from visits.calendar import WorkCalendar
from visits.models import DeviceKind

# Runs before the page's own scripts: every violation is kept where the test can read it.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});
"""


class Violations:
    """What one page's browser reported against the policy."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def check(self, screen: str) -> None:
        events = self.page.evaluate("window.__cspViolations || []")
        assert events == [] and self.console == [], f"{screen}: {events} {self.console}"


def _staff(make: Callable[..., BrowserContext], login: str) -> tuple[Page, Violations]:
    page = staff_page(make, login)
    watch = Violations(page)  # the init script applies to the next navigation
    return page, watch


def test_kiosk_screens_work_under_the_policy(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page = device_page(new_context, live, DeviceKind.KIOSK, "kiosk")
    watch = Violations(page)
    page.goto("/kiosk/")
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    page.get_by_role("button", name="У меня есть запись на приём").click()
    expect(page.get_by_role("heading", name="Введите код записи")).to_be_visible()
    page.goto("/kiosk/directory")
    page.goto("/kiosk/walkin")
    expect(page.locator("#kiosk-screen")).to_be_visible()
    watch.check("kiosk")


def test_desk_works_under_the_policy(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page, watch = _staff(new_context, "operator")
    page.goto("/staff/desk")
    expect(page.locator("#printer-alert")).to_be_attached()  # loaded by htmx after the page
    page.get_by_label("Найти клиента").fill("8 913 555-12-34")
    expect(page.locator("#desk-search-results")).to_contain_text("не найден")
    page.goto("/staff/calls")
    expect(page.locator("#calls-list")).to_be_visible()
    watch.check("desk")


def test_today_and_the_administrators_screens_work_under_the_policy(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    local = open_calendar.local_now()
    starts = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    with live.session() as session:
        make_booking(session, open_calendar, starts_at=starts + timedelta(minutes=30))
    page, watch = _staff(new_context, "ivanova")
    page.goto("/staff/today")
    expect(page.get_by_role("heading", name="Мой день")).to_be_visible()
    expect(page.locator("#printer-alert")).to_be_attached()
    # The card opens by htmx and «Закрыть» closes it through queue.js, not an onclick.
    page.locator("#today-board tbody tr", has_text="Иван Петрович").get_by_role(
        "button", name="Карточка"
    ).click()
    expect(page.locator("#today-side")).to_contain_text("Иван Петрович")
    page.locator("#today-side").get_by_role("button", name="Закрыть").click()
    expect(page.locator("#today-side")).to_contain_text("Нажмите «Карточка»")
    page.goto("/staff/reports")
    expect(page.get_by_role("heading", name="Отчёты")).to_be_visible()
    watch.check("today")
    admin, admin_watch = _staff(new_context, "admin")
    for path in ("/staff/admin/day", "/staff/devices", "/staff/clients", "/staff/outbox"):
        admin.goto(path)
        expect(admin.locator("#security-alert")).to_be_attached()
    admin_watch.check("administrator")


def test_display_and_tablet_work_under_the_policy(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    display = device_page(new_context, live, DeviceKind.DISPLAY, "display", spot_key="f3-lift")
    display_watch = Violations(display)
    display.goto("/signage/")
    expect(display.locator("#signage")).to_have_attribute("data-connection", "live")
    expect(display.get_by_role("heading", name="Кабинеты по номерам")).to_be_visible()
    display_watch.check("display")
    tablet = device_page(new_context, live, DeviceKind.TABLET, "tablet", room_number="305")
    tablet_watch = Violations(tablet)
    tablet.goto("/kiosk/tablet")
    expect(tablet.get_by_text("После приёма здесь можно оценить визит.")).to_be_visible()
    tablet_watch.check("tablet")
