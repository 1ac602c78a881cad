"""Accessibility of the visitor screens beyond the whole-day path (issue 9).

The whole-day scenario (test_whole_day.py) runs axe-core on every page it passes; here the
kiosk at 200% zoom (a 1080x1920 screen showing 540x960 CSS pixels at twice the size) still
checks a visitor in with nothing cut off, and the kiosk screens the scenario does not open
(code keypad, walk-in, directory) pass axe, the touch-target and the Russian-name checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer, staff_page
from tests.e2e.whole_day_support import a11y_check
from tests.factories import (
    make_booking,
    make_client,
    make_device,
    make_ticket,
    service_by_code,
    staff_by_login,
)
from visits.calendar import WorkCalendar, utcnow
from visits.models import DeviceKind, Staff
from visits.queries.slots import free_slots
from visits.ru import plural

SHOTS = os.environ.get("PRIYOM_PHONE_SHOTS")

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
    expect(page.get_by_text(re.compile(r"^Шаг 1 из \d")).first).to_be_visible()
    a11y_check(page, "kiosk: walk-in phone", touch=True, problems=problems)
    page.goto("/kiosk/")
    page.get_by_role("button", name="Найти запись по номеру телефона").click()
    for digit in "9130000000":
        page.locator(f'.kiosk-key[data-key="{digit}"]').click()
    page.get_by_role("button", name="Найти запись").click()
    expect(page.get_by_text("На этот номер нет записи на сегодня.")).to_be_visible()
    a11y_check(page, "kiosk: no booking for the phone", touch=True, problems=problems)
    page.goto("/kiosk/")
    page.get_by_role("button", name="Мой вопрос не к вам?").click()
    expect(page.locator("#kiosk-screen")).to_contain_text("Росреестр")
    a11y_check(page, "kiosk: directory", touch=True, problems=problems)
    assert not problems, "\n".join(problems)


# --- staff screens, every state (issue 19) ---------------------------------------------

_SECTION_JS = """() => [...document.body.querySelectorAll('*')]
  .filter(el => el.checkVisibility() && [...el.childNodes].some(
    n => n.nodeType === Node.TEXT_NODE && n.textContent.includes('§')))
  .map(el => el.innerText.trim().slice(0, 80))"""


def _staff_check(page: Page, where: str, *, problems: list[str], report: bool = False) -> None:
    """axe as everywhere; the order's item numbers (§) only in reports, never at the desk."""
    a11y_check(page, where, problems=problems)
    if not report:
        problems.extend(f"{where}: a § number on screen: {t!r}" for t in page.evaluate(_SECTION_JS))


def _booked_today(
    live: LiveServer, calendar: WorkCalendar, *, login: str, phone: str, surname: str
) -> None:
    """A visitor of `login` booked minutes from now and checked in (a ticket is waiting)."""
    with live.session() as session:
        staff = staff_by_login(session, login)
        service = {"ivanova": "land-lease", "kuznetsova": "payments"}[login]
        slot = free_slots(
            session,
            calendar,
            service=service_by_code(session, service),
            staff_id=staff.id,
            now=utcnow() + timedelta(minutes=5),
            days=1,
        )[0]
        client = make_client(
            session, phone=phone, first_name="Зинаида", patronymic="Аркадьевна", surname=surname
        )
        booking = make_booking(
            session,
            calendar,
            client=client,
            service_code=service,
            staff_login=login,
            starts_at=slot.starts_at,
            now=utcnow(),
        )
        make_ticket(session, booking, checked_in_at=utcnow())


def test_the_booking_desk_passes_axe_in_every_step(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    problems: list[str] = []
    page = staff_page(new_context, "operator")
    _staff_check(page, "desk: start", problems=problems)
    page.get_by_label("Найти клиента").fill("8 913 555-44-21")
    expect(page.locator("#desk-search-results")).to_contain_text("не найден")
    _staff_check(page, "desk: not found", problems=problems)
    page.get_by_role("button", name="Новый клиент").click()
    expect(page.get_by_label("Фамилия")).to_be_visible()
    _staff_check(page, "desk: new client form", problems=problems)
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    _staff_check(page, "desk: new client form with errors", problems=problems)
    page.get_by_label("Фамилия").fill("Соколовская-Завьялова")
    page.get_by_label("Имя", exact=True).fill("Зинаида")
    page.get_by_label("Отчество").fill("Аркадьевна")
    page.locator("label.seg", has_text="звонок по телефону").click()
    page.get_by_label("Клиент согласен на обработку персональных данных").check()
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(page.locator(".client-name")).to_contain_text("Соколовская-Завьялова")
    _staff_check(page, "desk: services", problems=problems)
    page.get_by_role("link", name=re.compile("Аренда земельного участка")).click()
    expect(page.locator(".times-day")).to_be_visible()
    _staff_check(page, "desk: days and times", problems=problems)
    # The step tab says the whole surname, not «Соколовск…».
    step = page.locator(".steps li").first
    expect(step).to_contain_text("Соколовская-Завьялова")
    assert step.evaluate("el => el.scrollWidth <= el.clientWidth"), "the step tab is cut off"

    # Minutes away, only «Без напоминаний» can still reach the client: it is chosen already.
    page.locator(".slot").first.click()
    expect(page.get_by_role("heading", name="Проверьте запись")).to_be_visible()
    expect(page.get_by_role("radio", name="Без напоминаний")).to_be_checked()
    _staff_check(page, "desk: confirm", problems=problems)
    page.get_by_role("link", name="← Другое время").click()

    # A day later every choice is possible and none is made: the page says what is missing.
    page.locator("a.day-free").last.click()
    expect(page.locator("a.day-free").last).to_have_attribute("aria-current", "date")
    page.locator(".slot").first.click()
    expect(page.get_by_role("heading", name="Проверьте запись")).to_be_visible()
    expect(page.locator("input[name=reminders]:checked")).to_have_count(0)
    page.get_by_role("button", name="Записать").click()
    expect(page.locator("#confirm-error")).to_have_text(
        "Спросите клиента о напоминаниях и отметьте вариант."
    )
    _staff_check(page, "desk: confirm without a reminder choice", problems=problems)
    page.locator("label.seg", has_text="За день").first.click()
    page.get_by_role("button", name="Записать").click()
    expect(page.locator("#booking-code")).to_be_visible()
    # §34.3: the patronymic gives the gender: «записана», not «записан(а)».
    expect(page.get_by_text("Зинаида Аркадьевна записана.")).to_be_visible()
    _staff_check(page, "desk: booked", problems=problems)
    page.locator("#desk-bookings").get_by_role("button", name="Отменить").first.click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    _staff_check(page, "desk: cancel dialog", problems=problems)
    assert not problems, "\n".join(problems)


_OUTSIDE_CARD_JS = """() => [...document.querySelectorAll('.room-card .btn')].filter(b => {
  const card = b.closest('.room-card').getBoundingClientRect(), box = b.getBoundingClientRect();
  return box.left < card.left || box.right > card.right;
}).map(b => b.innerText.trim())"""


def _buttons_inside_cards(page: Page, problems: list[str]) -> None:
    """Every meeting-room button, «60 минут» too, stays inside its room's card."""
    problems.extend(
        f"meeting rooms: {text!r} sticks out of its card"
        for text in page.evaluate(_OUTSIDE_CARD_JS)
    )


def test_the_specialists_day_passes_axe_with_every_panel(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    _booked_today(live, open_calendar, login="ivanova", phone="+79137770021", surname="Гаврилова")
    problems: list[str] = []
    page = staff_page(new_context, "ivanova")
    page.goto("/staff/today")
    # A specialist's short menu keeps one header line with the office and the name.
    rows = page.evaluate(
        """() => [...new Set([...document.querySelectorAll(
            '.staff-brand, .staff-nav a, .staff-me button')].map(el => {
              const b = el.getBoundingClientRect(); return Math.round((b.top + b.bottom) / 20); }))]"""
    )
    assert len(rows) == 1, f"the specialist's header takes {len(rows)} lines"
    row = page.locator("#today-board tbody tr", has_text="Зинаида Аркадьевна")
    expect(row).to_contain_text("Ждёт с")
    _staff_check(page, "today: waiting", problems=problems)
    row.get_by_role("button", name="Карточка").click()
    expect(page.locator("#today-side")).to_contain_text("Гаврилова")
    _staff_check(page, "today: client card panel", problems=problems)
    page.get_by_role("button", name="Пригласить следующего").click()
    current = page.locator(".current")
    expect(current.get_by_role("button", name="Передать")).to_be_visible()
    _staff_check(page, "today: called", problems=problems)
    side = page.locator("#today-side")
    for button, heading, where in (
        ("Передать", "Передать талон", "transfer panel"),
        ("Перейти в переговорную", "Перейти в переговорную", "meeting-room panel"),
        ("Пригласить коллегу", "Пригласить коллегу", "invite panel"),
        ("Ошибка департамента", "Ошибка департамента", "department fault panel"),
    ):
        opener = current.get_by_role("button", name=button)
        opener.click()
        expect(side.get_by_role("heading", name=heading)).to_be_visible()
        # Checked once the request is over (a button in flight is dimmed on purpose).
        expect(opener).not_to_have_class(re.compile(r"htmx-request"))
        _staff_check(page, f"today: {where}", problems=problems)
        if where == "meeting-room panel":
            _buttons_inside_cards(page, problems)
    current.get_by_role("button", name="Клиент пришёл, начать приём").click()
    expect(current.get_by_role("button", name="Завершить приём")).to_be_visible()
    _staff_check(page, "today: in service", problems=problems)
    page.goto("/staff/today/tomorrow")
    _staff_check(page, "tomorrow", problems=problems)
    page.goto("/staff/reports")
    _staff_check(page, "reports (specialist)", problems=problems, report=True)
    assert not problems, "\n".join(problems)


# The vertical centre of each section link of the staff menu, rounded: one value, one line;
# and how far the header reaches past the window.
_HEADER_ROWS_JS = """() => ({
  rows: [...new Set([...document.querySelectorAll('.staff-nav a')]
    .map(el => { const b = el.getBoundingClientRect(); return Math.round((b.top + b.bottom) / 20); }))],
  overflow: document.querySelector('.staff-header').scrollWidth - document.documentElement.clientWidth,
})"""


def test_the_administrators_screens_pass_axe(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    _booked_today(live, open_calendar, login="kuznetsova", phone="+79137770022", surname="Орлова")
    problems: list[str] = []
    page = staff_page(new_context, "admin")
    for path, where in (
        ("/staff/admin/day", "admin day"),
        ("/staff/reports", "reports"),
        ("/staff/devices", "devices"),
        ("/staff/outbox", "outbox"),
        ("/staff/calls", "calls"),
        ("/staff/clients", "clients"),
        ("/staff/line", "consultation line"),
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        _staff_check(page, where, problems=problems, report=where == "reports")
    # A device added: its pairing code shown.
    page.goto("/staff/devices")
    page.locator("#device-kind").select_option("tablet")
    page.locator("#device-name").fill("Планшет у кабинета 309")
    page.locator("#device-room").select_option("309")
    page.get_by_role("button", name="Добавить и получить код").click()
    expect(page.locator("[data-pairing-code]")).to_be_visible()
    _staff_check(page, "devices: pairing code", problems=problems)
    page.goto("/staff/clients")
    page.get_by_label("Телефон или фамилия").fill("Орлова")
    page.get_by_role("link", name="Орлова Зинаида Аркадьевна").click()
    expect(page.get_by_role("heading", name="Орлова Зинаида Аркадьевна")).to_be_visible()
    page.wait_for_load_state("networkidle")
    _staff_check(page, "client page", problems=problems)
    # The history comes before the rare merge of a duplicate.
    history = page.get_by_role("heading", name="История взаимодействия").bounding_box()
    merge = page.get_by_role("heading", name="Объединить с дубликатом").bounding_box()
    assert history is not None and merge is not None and history["y"] < merge["y"]
    # «Вся история клиента: 5 событий», «… 2 события», «… 1 событие».
    total = page.locator("#export-title + p").inner_text()
    found = re.search(r"Вся история клиента: (\d+) (\w+),", total)
    assert found, total
    n = int(found.group(1))
    assert found.group(2) == plural(n, "событие", "события", "событий"), total

    # At 1366 px the administrator's menu stays on one line, beside the name and «Выйти».
    page.set_viewport_size({"width": 1366, "height": 768})
    header = page.evaluate(_HEADER_ROWS_JS)
    assert len(header["rows"]) == 1 and header["overflow"] <= 0, f"the menu at 1366 px: {header}"
    if SHOTS:
        page.screenshot(
            path=f"{SHOTS}/header-1366.png", clip={"x": 0, "y": 0, "width": 1366, "height": 160}
        )
    assert not problems, "\n".join(problems)


def test_the_consultation_lines_call_card_passes_axe_in_every_state(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    with live.session() as session:
        make_client(session, surname="Гаврилов", first_name="Олег", patronymic="Ильич")
        ivanova_id = staff_by_login(session, "ivanova").id
    problems: list[str] = []
    page = staff_page(new_context, "operator")
    page.goto("/staff/line")
    _staff_check(page, "line", problems=problems)
    page.keyboard.press("F2")
    page.wait_for_url("**/staff/line/calls/*")
    card = page.locator("#call-card")
    expect(card).to_contain_text("Звонок анонимный")
    _staff_check(page, "call card: anonymous", problems=problems)
    card.get_by_label("Телефон или фамилия").fill("Гаврилов")
    found = card.locator("#call-search-results").get_by_role("button", name="Это он", exact=True)
    expect(found).to_be_visible()
    _staff_check(page, "call card: search results", problems=problems)
    found.click()
    expect(card.locator(".call-client-name")).to_have_text("Гаврилов Олег Ильич")
    _staff_check(page, "call card: caller found", problems=problems)
    handover = card.locator("#call-handover")
    handover.locator("#handover-to").select_option(str(ivanova_id))
    handover.get_by_role("button", name="Что сказать клиенту").click()
    expect(card.locator("#call-handover .say")).to_be_visible()
    _staff_check(page, "call card: hand-over sentence", problems=problems)
    card.get_by_role("button", name="Показать фразы").click()
    expect(card.locator("#call-crisis")).not_to_contain_text("Показать фразы")
    _staff_check(page, "call card: crisis phrases", problems=problems)
    assert not problems, "\n".join(problems)
