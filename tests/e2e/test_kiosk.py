"""The lobby kiosk in a real browser at 1080x1920: code, scanner, phone, too early, printer off."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import Session, select

from tests.e2e.conftest import ARTIFACTS, LiveServer, device_page
from tests.factories import make_booking, make_client, service_by_code, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.models import Booking, DeviceKind, Staff, Ticket
from visits.queries.slots import free_slots

NUMBER = re.compile(r"^[АЖ]-\d{3}$")


def _booking_soon(
    live: LiveServer,
    calendar: WorkCalendar,
    *,
    after: timedelta = timedelta(minutes=5),
    service_code: str = "payments",
    staff_login: str | None = None,
    **kw: str,
) -> Booking:
    """A booking of today's first free slot after `after` from now (the live office never closes)."""
    with live.session() as session:
        service = service_by_code(session, service_code)
        staff_id = staff_by_login(session, staff_login).id if staff_login else None
        slot = free_slots(
            session, calendar, service=service, staff_id=staff_id, now=utcnow() + after, days=1
        )[0]
        login = next(s.login for s in _staff(session) if s.id == slot.staff_id)
        client = make_client(session, **kw)
        return make_booking(
            session,
            calendar,
            client=client,
            service_code=service_code,
            staff_login=login,
            starts_at=slot.starts_at,
            now=utcnow(),
        )


def _staff(session: Session) -> list[Staff]:
    return list(session.exec(select(Staff)).all())


def _kiosk(new_context: Callable[..., BrowserContext], live: LiveServer, **device: str) -> Page:
    page = device_page(new_context, live, DeviceKind.KIOSK, "kiosk", **device)
    page.goto("/kiosk/")
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"kiosk-{name}.png"))


def _touch_targets_are_big(page: Page) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('#kiosk-screen button')]
            .filter(b => b.offsetParent !== null)
            .map(b => [b.textContent.trim(), b.getBoundingClientRect().height,
                       b.getBoundingClientRect().width])
            .filter(([, h, w]) => h < 64 || w < 64)"""
    )
    assert small == []


def test_check_in_by_typed_code(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    booking = _booking_soon(live, open_calendar, service_code="land-lease", staff_login="ivanova")
    page = _kiosk(new_context, live)
    _touch_targets_are_big(page)
    _shot(page, "start")
    page.get_by_role("button", name="У меня есть запись на приём").click()
    expect(page.get_by_role("heading", name="Введите код записи")).to_be_visible()
    done = page.get_by_role("button", name="Готово")
    expect(done).to_be_disabled()
    _touch_targets_are_big(page)
    for ch in booking.code:
        page.locator(f'.kiosk-key[data-key="{ch}"]').click()
    _shot(page, "code")
    done.click()
    expect(page.get_by_role("heading", name="Здравствуйте, Иван Петрович!")).to_be_visible()
    expect(page.locator("[data-ticket-number]")).to_have_text(NUMBER)
    expect(
        page.get_by_text("Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж.")
    ).to_be_visible()
    expect(page.get_by_text("Возьмите талон из принтера под экраном.")).to_be_visible()
    _shot(page, "ticket")
    # A touch returns to the start.
    page.mouse.click(540, 1800)
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    # The demo's virtual printer shows what it printed.
    page.goto("/kiosk/printer")
    expect(page.locator(".printer-ticket img")).to_have_count(1)
    _shot(page, "virtual-printer")
    # The visitor's phone opens the ticket's own page from the QR.
    with live.session() as session:
        token = session.exec(select(Ticket.token).where(Ticket.booking_id == booking.id)).one()
    phone = new_context("staff").new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"/t/{token}")
    expect(phone.get_by_text("Ожидайте вызова")).to_be_visible()
    # The specialist's line of the ticket's facts (the status above names her too).
    expect(phone.get_by_text("Мария Петровна Иванова", exact=True)).to_be_visible()
    phone.screenshot(path=str(ARTIFACTS / "kiosk-ticket-page.png"))


def test_check_in_by_scanner_without_a_touch(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    booking = _booking_soon(live, open_calendar)
    page = device_page(new_context, live, DeviceKind.KIOSK, "kiosk")
    page.clock.install()
    page.goto("/kiosk/")
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type(f"PRIYOM:{booking.code}")
    page.keyboard.press("Enter")
    expect(page.locator("[data-ticket-number]")).to_have_text(NUMBER)
    expect(page.get_by_text("Возьмите талон из принтера под экраном.")).to_be_visible()
    # The ticket screen goes back to the start by itself after 20 s.
    page.clock.run_for(19_000)
    expect(page.locator("[data-ticket-number]")).to_be_visible()
    page.clock.run_for(2_000)
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    expect(page.locator("#scan")).to_be_focused()


def test_check_in_by_phone_number(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    _booking_soon(live, open_calendar, phone="+79131230099")
    page = _kiosk(new_context, live)
    page.get_by_role("button", name="Найти запись по номеру телефона").click()
    for digit in "9131230099":
        page.locator(f'.kiosk-key[data-key="{digit}"]').click()
    expect(page.get_by_text("(913) 123-00-99")).to_be_visible()
    _touch_targets_are_big(page)
    _shot(page, "phone")
    page.get_by_role("button", name="Найти запись").click()
    expect(page.locator("[data-ticket-number]")).to_have_text(NUMBER)
    expect(page.get_by_role("heading", name="Здравствуйте, Иван Петрович!")).to_be_visible()


def test_too_early_says_when_to_come(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    booking = _booking_soon(live, open_calendar, after=timedelta(minutes=120))
    page = _kiosk(new_context, live)
    page.keyboard.type(booking.code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Пока рано")).to_be_visible()
    opens = open_calendar.to_local(booking.starts_at) - timedelta(minutes=60)
    expect(page.get_by_role("alert")).to_contain_text(f"подойдите к терминалу с {opens:%H:%M}")
    _shot(page, "too-early")
    page.get_by_role("button", name="На главную").click()
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()


def test_printer_off_shows_the_ticket_on_screen(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    booking = _booking_soon(live, open_calendar)
    page = _kiosk(new_context, live, printer_uri=f"tcp://127.0.0.1:{port}")
    page.keyboard.type(f"PRIYOM:{booking.code}")
    page.keyboard.press("Enter")
    expect(page.locator("[data-ticket-number]")).to_have_text(NUMBER)
    expect(page.get_by_text("Талон не напечатан: принтер отклонил подключение.")).to_be_visible()
    expect(page.get_by_text("Возьмите талон с экрана", exact=False)).to_be_visible()
    expect(page.locator(".kiosk-qr svg")).to_be_visible()
    _shot(page, "printer-off")
    # A touch does not hide the on-screen ticket: it is being shown to a specialist.
    page.mouse.click(540, 300)
    expect(page.locator("[data-ticket-number]")).to_be_visible()


def test_idle_screen_returns_to_start_and_forgets_the_typing(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page = device_page(new_context, live, DeviceKind.KIOSK, "kiosk")
    page.clock.install()
    page.goto("/kiosk/")
    page.get_by_role("button", name="У меня есть запись на приём").click()
    page.locator('.kiosk-key[data-key="A"]').click()
    page.locator('.kiosk-key[data-key="B"]').click()
    expect(page.locator(".kiosk-cell.is-filled")).to_have_count(2)
    page.clock.run_for(59_000)
    expect(page.locator(".kiosk-cell.is-filled")).to_have_count(2)
    page.clock.run_for(2_000)
    expect(page.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    page.get_by_role("button", name="У меня есть запись на приём").click()
    expect(page.locator(".kiosk-cell.is-filled")).to_have_count(0)


def test_walk_in_with_the_name_keyboard(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    page = _kiosk(new_context, live)
    page.get_by_role("button", name="Записаться без очереди").click()
    expect(page.get_by_role("heading", name="Записаться без очереди")).to_be_visible()
    _shot(page, "walkin")
    page.locator(".kiosk-choice").filter(has_text="Консультация").click()
    # §29: a choice among today's nearest free times; the second one is taken.
    expect(page.get_by_text("Шаг 1 из 5")).to_be_visible()
    times = page.locator('#walkin-times input[name="slot"]')
    expect(times.first).to_be_checked()
    if times.count() > 1:
        page.locator("#walkin-times .kiosk-time").nth(1).click()
        expect(times.nth(1)).to_be_checked()
    page.locator(".kiosk-step:not([hidden])").get_by_role("button", name="Дальше").click()
    for digit in "9135557788":
        page.locator(f'.kiosk-key[data-key="{digit}"]').click()
    page.locator(".kiosk-step:not([hidden])").get_by_role("button", name="Дальше").click()
    expect(page.get_by_text("Шаг 3 из 5")).to_be_visible()
    for ch in "СИДОРОВ":
        page.locator(f'.kiosk-step:not([hidden]) .kiosk-key[data-key="{ch}"]').click()
    page.locator('[data-field="first_name"]').click()
    for ch in "ПЁТР":
        page.locator(f'.kiosk-step:not([hidden]) .kiosk-key[data-key="{ch}"]').click()
    expect(page.locator('[data-value-of="surname"]')).to_have_text("Сидоров")
    _touch_targets_are_big(page)
    _shot(page, "walkin-name")
    page.locator(".kiosk-step:not([hidden])").get_by_role("button", name="Дальше").click()
    # §3: how to hear about the visit, in two touches: the channel and an optional second one.
    expect(page.get_by_text("Шаг 4 из 5")).to_be_visible()
    page.get_by_text("И звонок").click()
    _shot(page, "walkin-channel")
    page.locator(".kiosk-step:not([hidden])").get_by_role("button", name="Дальше").click()
    page.get_by_text("Я даю согласие").click()
    page.get_by_role("button", name="Записаться", exact=True).click()
    expect(page.locator("[data-ticket-number]")).to_have_text(re.compile(r"^З-\d{3}$"))
    expect(page.get_by_role("heading", name="Здравствуйте, Пётр Сидоров!")).to_be_visible()
