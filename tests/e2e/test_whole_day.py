"""A whole day in real browsers (issue 9): every screen, several browsers at once, one real server.

1. The phone operator books two callers in the booking desk: Alla Igorevna (e-mail, SMS as
   the second channel, the two-hour reminder) and Boris Olegovich (phone calls only).
   The outbox sender runs here, in the test process, against the server's database:
   first now (confirmations), then travelling in time (time-machine) to the reminder's due
   time. A local SMTP server and a local SMS gateway receive them; the phone client's
   confirmation becomes a task for the operators.
2. The kiosk (1080x1920): Alla Igorevna's QR payload typed by the scanner, Boris Olegovich
   by phone number. The kiosk's printer is a TCP server on a free port (a port-9100
   printer); the test decodes what arrived: Cyrillic in CP866 and a GS ( k QR command
   carrying the ticket's page.
3. Specialists' terminals: the visitor appears without a reload and is called; the hallway
   display (1920x1080, at the 3rd floor lift) shows the call with the way from there; the
   second visitor is called late and the apology prompt shows; a transfer; the conflict
   moves to a meeting room, which the display and the ticket's page show; the visit ends.
4. The rating tablet (1280x800) of the specialist's own room 301 asks, though the visit
   ended in meeting room 311 (§36: the visitor walks out past 301); the visitor rates; the
   report counts it under room 301, with the meeting room in its own column.
5. The client's history on the client card reads the reminder as a reminder; exported as
   JSON it holds every step in order.

axe-core runs on every page and state on the way (tests/e2e/whole_day_support.py), with the
touch-target and Russian-name checks. Screenshots for the README: PRIYOM_SCREENSHOTS=dir
(`make screenshots`), otherwise into test-artifacts/. On failure, every browser's
screenshot and Playwright trace go to test-artifacts/whole-day-<db>/ (named in the error).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from tests.conftest import Database, create_database
from tests.e2e.conftest import ARTIFACTS, VIEWPORTS, LiveServer, staff_page
from tests.e2e.whole_day_support import (
    PrinterSink,
    SmsGateway,
    SmtpSink,
    a11y_check,
    decode_ticket,
    office_config_text,
)
from tests.factories import make_device, service_by_code, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.config import OfficeConfig, load_config
from visits.models import (
    Booking,
    Client,
    DeviceKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    SlotHold,
    Ticket,
)
from visits.notify.sender import outbox_send_due
from visits.queries.slots import Slot, free_slots

SHOTS = Path(os.environ.get("PRIYOM_SCREENSHOTS") or ARTIFACTS / "whole-day-screens")
# Events written by this process (none on the main path) reach the streams at the next look.
HEARTBEAT = "0.5"
# A pushed event normally shows within a second. The staff board loses one that arrives
# while its own refresh is in flight (the swap drops the queued request), until its
# 25-second poll: wait past the poll rather than fail on that race.
LIVE_MS = 30_000


@dataclass
class Outside:
    """What the live server talks to: mail, SMS and the kiosk's printer."""

    smtp: SmtpSink
    sms: SmsGateway
    printer: PrinterSink
    config_path: Path


@dataclass
class WholeDay:
    live: LiveServer
    outside: Outside
    config: OfficeConfig


@pytest.fixture(scope="module")
def whole_day(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[WholeDay]:
    tmp = tmp_path_factory.mktemp("live-whole-day")
    smtp = SmtpSink().start()
    sms = SmsGateway().start()
    printer = PrinterSink().start()
    db = create_database(database.backend, tmp, office_config, template=database)
    config_path = tmp / "office.toml"
    server = LiveServer(
        db=db,
        tmp=tmp,
        extra_env={"PRIYOM_SSE_HEARTBEAT": HEARTBEAT, "PRIYOM_CONFIG": str(config_path)},
    )
    config_path.write_text(
        office_config_text(base_url=server.url, smtp_port=smtp.port, sms_url=sms.url),
        encoding="utf-8",
    )
    server.start()
    try:
        yield WholeDay(
            live=server,
            outside=Outside(smtp=smtp, sms=sms, printer=printer, config_path=config_path),
            config=load_config(config_path),
        )
    finally:
        server.stop()
        db.drop()
        smtp.stop()
        sms.stop()
        printer.stop()


@dataclass
class Browsers:
    """Browser contexts at device sizes, each traced; on failure all leave a trace and a shot."""

    browser: Browser
    base_url: str
    folder: Path
    contexts: dict[str, BrowserContext] = field(default_factory=dict)

    def context(self, name: str, device: str = "staff", **kwargs: Any) -> BrowserContext:
        context = self.browser.new_context(
            viewport=kwargs.pop("viewport", VIEWPORTS[device]),
            base_url=self.base_url,
            locale="ru-RU",
            **kwargs,
        )
        context.set_default_timeout(15_000)
        context.tracing.start(name=name, screenshots=True, snapshots=True)
        self.contexts[name] = context
        return context

    def maker(self, name: str) -> Callable[..., BrowserContext]:
        """A `new_context`-like callable for the conftest helpers (staff_page)."""
        return lambda device="staff", **kw: self.context(name, device, **kw)

    def keep_evidence(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, context in self.contexts.items():
            for n, page in enumerate(context.pages):
                # A page that is gone must not hide the real failure.
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(self.folder / f"{name}-{n}.png"), full_page=True)
            context.tracing.stop(path=str(self.folder / f"trace-{name}.zip"))

    def close(self, *, keep: bool) -> None:
        if keep:
            self.keep_evidence()
        for context in self.contexts.values():
            if not keep:
                context.tracing.stop()
            context.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _device_page(
    browsers: Browsers, live: LiveServer, name: str, kind: DeviceKind, viewport: str, **device: Any
) -> Page:
    with live.session() as session:
        _, token = make_device(session, kind, **device)
    context = browsers.context(name, viewport)
    context.add_cookies([{"name": "priyom_device", "value": token, "url": live.url}])
    return context.new_page()


def _slot(
    live: LiveServer,
    calendar: WorkCalendar,
    *,
    service: str,
    staff: str,
    earliest: timedelta,
    latest: timedelta,
) -> Slot | None:
    """Today's first free slot of a specialist between now+earliest and now+latest."""
    now = utcnow()
    with live.session() as session:
        slots = free_slots(
            session,
            calendar,
            service=service_by_code(session, service),
            staff_id=staff_by_login(session, staff).id,
            now=now + earliest,
            days=1,
        )
    today = calendar.to_local(now).date()
    for slot in slots:
        if calendar.to_local(slot.starts_at).date() == today and slot.starts_at <= now + latest:
            return slot
    return None


def _register(
    page: Page,
    *,
    phone: str,
    surname: str,
    first: str,
    patronymic: str,
    channel: str,
    email: str = "",
    second: str = "",
) -> None:
    page.goto("/staff/desk")
    page.get_by_label("Найти клиента").fill(phone)
    expect(page.locator("#desk-search-results")).to_contain_text("не найден")
    page.get_by_role("button", name="Новый клиент").click()
    expect(page.get_by_label("Телефон", exact=True)).to_have_value(phone)
    page.get_by_label("Фамилия").fill(surname)
    page.get_by_label("Имя", exact=True).fill(first)
    page.get_by_label("Отчество").fill(patronymic)
    if email:
        page.get_by_role("textbox", name="Электронная почта").fill(email)
    page.locator("label.seg", has_text=channel).click()
    if second:
        page.get_by_label("Дополнительный способ связи").select_option(second)
    page.get_by_label("Клиент согласен на обработку персональных данных").check()
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(page.locator(".client-name")).to_have_text(f"{surname} {first} {patronymic}")


def _book(page: Page, *, service: str, staff_short: str, slot: Slot, reminders: str) -> str:
    if service:
        page.get_by_role("link", name=re.compile(service)).click()
        expect(page.locator(".times-day")).to_be_visible()
    page.locator(".chip", has_text=staff_short).click()
    expect(page.locator(".chip.is-selected")).to_contain_text(staff_short)
    page.locator(f'.slot[data-slot="{slot.key}"]').click()
    expect(page.get_by_role("heading", name="Проверьте запись")).to_be_visible()
    page.locator("label.seg", has_text=re.compile(f"^{reminders}$")).click()
    page.get_by_role("button", name="Записать").click()
    code = page.locator("#booking-code")
    expect(code).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{6}$"))
    return code.inner_text()


def _row(page: Page, text: str) -> Any:
    return page.locator("#today-board tbody tr", has_text=text)


def _rewind_visit(live: LiveServer, booking_id: int, *, late_by: timedelta) -> None:
    """Let time pass for one checked-in visit: its booked time and check-in move back.

    §34.4 measures lateness from max(booked time, check-in); a visitor checked in at the
    kiosk now can only be called late after real minutes pass, and the server lives on the
    wall clock (the test can neither travel it in time nor sleep). So the booking, its slot
    holds and the ticket's times move back in the database, by whole slots, until the booked
    time is at least `late_by` ago: as if the visitor had come on time and the specialist
    had kept them waiting.
    """
    cell = timedelta(minutes=15)
    with live.session() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        ahead = booking.starts_at - utcnow() + late_by
        shift = cell * max(1, -(-ahead // cell))
        booking.starts_at -= shift
        booking.ends_at -= shift
        session.add(booking)
        for hold in session.exec(select(SlotHold).where(SlotHold.booking_id == booking_id)):
            hold.starts_at -= shift
            session.add(hold)
        ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking_id)).one()
        ticket.booked_at -= shift
        ticket.checked_in_at -= shift
        session.add(ticket)
        session.commit()


def test_a_whole_day(browser: Browser, whole_day: WholeDay, database: Database) -> None:
    folder = ARTIFACTS / f"whole-day-{database.backend}"
    shutil.rmtree(folder, ignore_errors=True)  # no stale evidence from an earlier failure
    browsers = Browsers(browser=browser, base_url=whole_day.live.url, folder=folder)
    failed = True
    started = time.monotonic()
    try:
        # The server's calendar: open around the clock, in the test office's time zone.
        _scenario(browsers, whole_day, WorkCalendar(whole_day.config, always_open=True))
        failed = False
    except BaseException as exc:
        browsers.close(keep=True)
        raise AssertionError(
            f"whole day failed; screenshots and Playwright traces of every browser are in "
            f"{folder}/ (open a trace with `playwright show-trace`): {exc}"
        ) from exc
    finally:
        if not failed:
            browsers.close(keep=False)
    print(f"whole day on {database.backend}: {time.monotonic() - started:.1f} s")  # noqa: T201


def _scenario(browsers: Browsers, day: WholeDay, calendar: WorkCalendar) -> None:
    live, outside = day.live, day.outside
    problems: list[str] = []

    def check(page: Page, where: str, **kw: Any) -> None:
        a11y_check(page, where, problems=problems, **kw)

    # Alla Igorevna: today, more than two hours ahead (the two-hour reminder is possible),
    # inside the four hours before the visit when this office's kiosk checks in.
    slot_a = _slot(
        live,
        calendar,
        service="land-lease",
        staff="ivanova",
        earliest=timedelta(hours=2, minutes=3),
        latest=timedelta(hours=3, minutes=50),
    )
    slot_b = _slot(
        live,
        calendar,
        service="payments",
        staff="kuznetsova",
        earliest=timedelta(minutes=3),
        latest=timedelta(hours=1),
    )
    # The test office's time zone puts "now" in the morning (whole_day_support.morning_timezone).
    assert slot_a is not None and slot_b is not None, "no free slots in the test office's morning"

    # --- 1. The phone operator books both callers -------------------------------------
    desk = staff_page(browsers.maker("operator"), "operator")
    _register(
        desk,
        phone="8 913 555-12-34",
        surname="Зайцева",
        first="Алла",
        patronymic="Игоревна",
        channel="электронная почта",
        email="alla@example.ru",
        second="sms",
    )
    check(desk, "desk: client registered")
    desk.get_by_role("link", name=re.compile("Аренда земельного участка")).click()
    expect(desk.locator(".times-day")).to_be_visible()
    check(desk, "desk: slots")
    code_a = _book(
        desk,
        service="",
        staff_short="Иванова",
        slot=slot_a,
        reminders="За 2 часа",
    )
    expect(desk.locator("#confirmation-text")).to_contain_text("Алла Игоревна, вы записаны")
    check(desk, "desk: confirmation")
    _register(
        desk,
        phone="8 913 555-77-88",
        surname="Орлов",
        first="Борис",
        patronymic="Олегович",
        channel="звонок по телефону",
    )
    code_b = _book(
        desk,
        service="Арендная плата",
        staff_short="Кузнецова",
        slot=slot_b,
        reminders="Без напоминаний",
    )

    with live.session() as session:
        booking_a = session.exec(select(Booking).where(Booking.code == code_a)).one()
        booking_b = session.exec(select(Booking).where(Booking.code == code_b)).one()
        reminder_rows = session.exec(
            select(OutgoingMessage).where(
                OutgoingMessage.booking_id == booking_a.id,
                OutgoingMessage.kind == MessageKind.REMINDER_TWO_HOURS.value,
            )
        ).all()
    assert {r.channel for r in reminder_rows} == {"email", "sms"}
    assert {r.status for r in reminder_rows} == {MessageStatus.QUEUED}
    due = reminder_rows[0].due_at
    assert due == booking_a.starts_at - timedelta(hours=2)

    # The confirmations go now: e-mail and SMS for her; he heard his from the operator on the
    # line (a phone-channel confirmation needs no second call), so nothing goes to him.
    with live.session() as session:
        report = outbox_send_due(session=session, config=day.config)
        rows_b = session.exec(
            select(OutgoingMessage).where(OutgoingMessage.client_id == booking_b.client_id)
        ).all()
    assert report.sent == 2, report
    assert all(r.channel == "phone" for r in rows_b), rows_b
    # The reminders wait for their time; the sender travels there.
    with live.session() as session:
        assert outbox_send_due(session=session, config=day.config).sent == 0
    with time_machine.travel(due + timedelta(seconds=30), tick=True), live.session() as session:
        report = outbox_send_due(session=session, config=day.config)
    assert report.sent == 2, report
    mails = outside.smtp.messages
    assert [m["To"] for m in mails] == ["alla@example.ru", "alla@example.ru"]
    local_a = calendar.to_local(booking_a.starts_at)
    reminder_mail = mails[1].get_body(preferencelist=("plain",))
    assert reminder_mail is not None
    assert f"{local_a:%H:%M}" in reminder_mail.get_content()
    assert mails[1]["Subject"].startswith("Приём ")
    assert [r["to"] for r in outside.sms.requests] == ["79135551234", "79135551234"]
    assert f"{local_a:%H:%M}" in outside.sms.requests[1]["msg"]
    assert code_a in outside.sms.requests[0]["msg"]

    # --- The screens of the day open: terminals, hallway display, room 301's tablet ---
    ivanova = staff_page(browsers.maker("ivanova"), "ivanova")
    ivanova.goto("/staff/today")
    expect(_row(ivanova, "Алла Игоревна")).to_contain_text("Ещё не пришёл")
    kuznetsova = staff_page(browsers.maker("kuznetsova"), "kuznetsova")
    kuznetsova.goto("/staff/today")
    expect(_row(kuznetsova, "Борис Олегович")).to_contain_text("Ещё не пришёл")
    smirnov = staff_page(browsers.maker("smirnov"), "smirnov")
    smirnov.goto("/staff/today")
    expect(smirnov.get_by_text("На сегодня записей нет.")).to_be_visible()
    for page in (ivanova, kuznetsova, smirnov):
        page.evaluate("window.__noReload = true")
    check(ivanova, "terminal: before check-in")

    display = _device_page(
        browsers, live, "display", DeviceKind.DISPLAY, "display", spot_key="f3-lift"
    )
    display.goto("/signage/")
    expect(display.locator("#signage")).to_have_attribute("data-connection", "live")
    check(display, "display: idle", enhanced_contrast=True)

    # The unit head's own room: the visit will end in a meeting room, which has no tablet.
    tablet = _device_page(browsers, live, "tablet", DeviceKind.TABLET, "tablet", room_number="301")
    tablet.goto("/kiosk/tablet")
    expect(tablet.get_by_text("После приёма здесь можно оценить визит.")).to_be_visible()
    check(tablet, "tablet: idle", touch=True)

    # --- 2. The kiosk -----------------------------------------------------------------
    kiosk = _device_page(
        browsers, live, "kiosk", DeviceKind.KIOSK, "kiosk", printer_uri=outside.printer.uri
    )
    kiosk.goto("/kiosk/")
    expect(kiosk.get_by_role("heading", name="Здравствуйте!")).to_be_visible()
    expect(kiosk.locator("#scan")).to_be_focused()
    check(kiosk, "kiosk: start", touch=True)
    _shot(kiosk, "kiosk-start")
    kiosk.keyboard.type(booking_a.qr_payload)
    kiosk.keyboard.press("Enter")
    expect(kiosk.get_by_role("heading", name="Здравствуйте, Алла Игоревна!")).to_be_visible()
    number_a = kiosk.locator("[data-ticket-number]").inner_text()
    assert re.fullmatch(r"А-\d{3}", number_a)
    expect(
        kiosk.get_by_text("Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж.")
    ).to_be_visible()
    expect(kiosk.get_by_text("Возьмите талон из принтера под экраном.")).to_be_visible()
    check(kiosk, "kiosk: ticket", touch=True)
    _shot(kiosk, "kiosk-ticket")
    job = outside.printer.wait_for(1)
    printed = decode_ticket(job)
    with live.session() as session:
        token_a = session.exec(select(Ticket.token).where(Ticket.booking_id == booking_a.id)).one()
    assert printed.codepage_cp866
    assert "Здравствуйте, Алла Игоревна!" in printed.text
    assert number_a in printed.text
    assert "кабинет 305" in printed.text.lower()
    assert printed.qr == [f"{live.url}/t/{token_a}"]

    # The visitor opens the printed QR on her phone.
    phone = browsers.context("phone", "staff", viewport={"width": 390, "height": 844}).new_page()
    phone.goto(printed.qr[0])
    expect(phone.get_by_text("Ожидайте вызова")).to_be_visible()
    check(phone, "ticket page: waiting")

    # --- 3. The specialist: the visitor appears without a reload ------------------------
    expect(_row(ivanova, number_a)).to_contain_text("Ждёт с", timeout=LIVE_MS)
    assert ivanova.evaluate("window.__noReload") is True
    ivanova.get_by_role("button", name="Пригласить следующего").click()
    expect(ivanova.locator(".current-number")).to_have_text(number_a)
    expect(ivanova.locator(".apology")).to_have_count(0)
    check(ivanova, "terminal: called")
    _shot(ivanova, "staff-terminal")
    call = display.locator(".sg-call").first
    expect(call.locator(".sg-ticket")).to_have_text(number_a)
    expect(call.locator(".sg-room")).to_have_text("кабинет 305")
    expect(call).to_contain_text("направо, третья дверь слева")
    check(display, "display: call", enhanced_contrast=True)
    _shot(display, "hallway-display")

    # Transfer (§23): the land question goes to the unit head.
    with live.session() as session:
        smirnov_id = staff_by_login(session, "smirnov").id
    ivanova.locator(".current").get_by_role("button", name="Передать").click()
    side = ivanova.locator("#today-side")
    side.locator("#to-staff").select_option(str(smirnov_id))
    side.get_by_label("Причина").fill("Спор о границах, ведёт начальник отдела")
    check(ivanova, "terminal: transfer form")
    side.get_by_role("button", name="Передать").click()
    # (The board's notice can be replaced at once by the pushed refresh: check the row.)
    expect(_row(ivanova, number_a)).to_contain_text("Передан: Смирнов А. В.")
    expect(_row(smirnov, number_a)).to_contain_text("передан вам", timeout=LIVE_MS)

    # The second visitor checks in by phone number.
    kiosk.goto("/kiosk/")
    kiosk.get_by_role("button", name="Найти запись по номеру телефона").click()
    for digit in "9135557788":
        kiosk.locator(f'.kiosk-key[data-key="{digit}"]').click()
    expect(kiosk.get_by_text("(913) 555-77-88")).to_be_visible()
    check(kiosk, "kiosk: phone keypad", touch=True)
    kiosk.get_by_role("button", name="Найти запись").click()
    expect(kiosk.get_by_role("heading", name="Здравствуйте, Борис Олегович!")).to_be_visible()
    number_b = kiosk.locator("[data-ticket-number]").inner_text()
    printed_b = decode_ticket(outside.printer.wait_for(2))
    assert "Здравствуйте, Борис Олегович!" in printed_b.text
    assert "кабинет 309" in printed_b.text.lower()
    expect(_row(kuznetsova, number_b)).to_contain_text("Ждёт с", timeout=LIVE_MS)
    assert kuznetsova.evaluate("window.__noReload") is True

    # Called late (§34.4): the specialist is prompted to apologise.
    _rewind_visit(live, booking_b.id or 0, late_by=timedelta(minutes=10))
    kuznetsova.get_by_role("button", name="Пригласить следующего").click()
    expect(kuznetsova.locator(".current-number")).to_have_text(number_b)
    apology = kuznetsova.locator(".apology")
    expect(apology).to_contain_text(re.compile(r"Приём начинается на \d+ минут[а-я]* позже записи"))
    expect(apology).to_contain_text("Извинитесь перед Борисом Олеговичем")
    check(kuznetsova, "terminal: apology")
    kuznetsova.get_by_role("button", name="Клиент пришёл, начать приём").click()
    kuznetsova.get_by_role("button", name="Завершить приём").click()
    expect(_row(kuznetsova, number_b)).to_contain_text("Принят")

    # The unit head calls the transferred visitor; the conflict moves to a meeting room (§35).
    expect(_row(smirnov, number_a)).to_contain_text("Ждёт с")
    assert smirnov.evaluate("window.__noReload") is True
    smirnov.get_by_role("button", name="Пригласить следующего").click()
    expect(smirnov.locator(".current-number")).to_have_text(number_a)
    expect(display.locator(".sg-call").first.locator(".sg-room")).to_have_text("кабинет 301")
    smirnov.locator(".current").get_by_role("button", name="Перейти в переговорную").click()
    rooms = smirnov.locator("#today-side")
    expect(rooms).to_contain_text("предложите чай, кофе или воду")
    check(smirnov, "terminal: meeting rooms")
    _shot(smirnov, "meeting-rooms")
    rooms.get_by_role("button", name="Занять 311 на 30 минут").click()
    expect(rooms).to_contain_text("Переговорная занята за вами.")
    moved = display.locator(".sg-call").first
    expect(moved.locator(".sg-room")).to_have_text("переговорная 311")
    expect(moved).to_contain_text("налево, дверь со стеклом")
    expect(moved.locator(".sg-ticket")).to_have_text(number_a)
    check(display, "display: moved to a meeting room", enhanced_contrast=True)
    # The ticket's page refreshes itself every 20 s.
    expect(phone.locator(".ticket-facts")).to_contain_text("311", timeout=25_000)
    check(phone, "ticket page: moved")
    smirnov.get_by_role("button", name="Клиент пришёл, начать приём").click()
    smirnov.get_by_role("button", name="Завершить приём").click()
    expect(_row(smirnov, number_a)).to_contain_text("Принят")
    # On her phone the finished visit's page offers the rating first, above the ticket.
    phone.goto(printed.qr[0])
    expect(phone.locator(".rating-faces .face")).to_have_count(5)
    check(phone, "ticket page: finished")
    _shot(phone, "ticket-phone")

    # --- 4. Room 301's tablet asks (§36); the visitor rates; the report shows it --------
    expect(tablet.get_by_role("heading", name="Оцените, пожалуйста, ваш визит")).to_be_visible(
        timeout=LIVE_MS
    )
    expect(tablet.locator(".rating-ticket")).to_have_text(f"Талон {number_a}")
    check(tablet, "tablet: prompt", touch=True)
    _shot(tablet, "rating-tablet")
    tablet.get_by_role("button", name="4 Хорошо").click()
    expect(tablet.get_by_role("button", name="Отправить оценку")).to_be_visible()
    check(tablet, "tablet: reasons", touch=True)
    tablet.get_by_role("button", name="Отправить оценку").click()
    expect(tablet.get_by_role("heading", name="Спасибо!")).to_be_visible()

    smirnov.goto("/staff/reports")
    expect(smirnov.locator("#report-by_staff")).to_contain_text("Смирнов А. В.")
    by_room = smirnov.locator("#report-by_room")
    expect(by_room.locator("tbody tr")).to_have_count(1)
    expect(by_room.locator("tbody tr")).to_contain_text("кабинет 301, 3 этаж")
    expect(by_room.locator("tbody tr")).to_contain_text("переговорная 311, 3 этаж: 1")
    check(smirnov, "reports")
    _shot(smirnov, "report")

    # --- 5. The client's history, exported from the client card ------------------------
    desk.goto("/staff/clients")
    desk.get_by_label("Телефон или фамилия").fill("Зайцева")
    desk.get_by_role("link", name="Зайцева Алла Игоревна").click()
    expect(desk.get_by_role("heading", name="Зайцева Алла Игоревна")).to_be_visible()
    # §30: the reminder is named as one, with its time, what became of it and the channel.
    reminders = desk.locator("#history-timeline li[data-reminder]")
    local_due = calendar.to_local(due)
    expect(reminders.filter(has_text="Напоминание за два часа: запланировано")).to_have_count(2)
    sent_lines = reminders.filter(has_text="Напоминание за два часа: отправлено")
    expect(sent_lines).to_have_count(2)
    expect(sent_lines.first).to_contain_text(f"Срок: {local_due:%d.%m.%Y %H:%M}.")
    expect(sent_lines.first).to_contain_text("Отправлено")
    expect(reminders.filter(has_text="SMS")).to_have_count(2)
    check(desk, "client card")
    with desk.expect_download() as download_info:
        desk.get_by_role("button", name="JSON").click()
    document = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    entries = document["entries"]
    kinds = [e["kind"] for e in entries]
    steps = [
        "client_registered",
        "booking_created",
        "checked_in",
        "ticket_printed",
        "called",
        "transferred",
        "called",
        "meeting_room",
        "service_started",
        "served",
        "rated",
    ]
    assert [k for k in kinds if k in set(steps)] == steps, kinds
    sent = [e for e in entries if e["kind"] == "message_sent"]
    assert len(sent) == 4, kinds
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    with live.session() as session:
        client = session.exec(select(Client).where(Client.surname == "Зайцева")).one()
        assert document["client"]["full_name"] == client.full_name
        assert session.exec(
            select(OutgoingMessage).where(
                col(OutgoingMessage.client_id) == client.id,
                OutgoingMessage.status == MessageStatus.SENT,
            )
        ).all()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "whole-day-a11y.txt").write_text(
        "\n".join(["# screens", *problems]) + "\n", encoding="utf-8"
    )
    assert not problems, "accessibility:\n" + "\n".join(problems)
