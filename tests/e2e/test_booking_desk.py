"""The phone operator in a real browser: register a caller, book the first free slot, cancel it."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect
from sqlmodel import select

from tests.e2e.conftest import ARTIFACTS, LiveServer, staff_page
from visits.models import Booking, BookingStatus, Client, MessageKind, OutgoingMessage, SlotHold


def test_operator_registers_books_and_cancels(
    new_context: Callable[..., BrowserContext], live: LiveServer
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = staff_page(new_context, "operator")
    expect(page).to_have_url(re.compile(r"/staff/desk$"))
    expect(page.get_by_role("link", name="Запись на приём")).to_have_attribute(
        "aria-current", "page"
    )

    # The caller is not in the database yet.
    page.get_by_label("Найти клиента").fill("8 913 555-12-34")
    expect(page.locator("#desk-search-results")).to_contain_text("не найден")
    page.get_by_role("button", name="Новый клиент").click()
    expect(page.get_by_label("Телефон", exact=True)).to_have_value("8 913 555-12-34")
    page.get_by_label("Фамилия").fill("Зайцева")
    page.get_by_label("Имя", exact=True).fill("Алла")
    page.get_by_label("Отчество").fill("Игоревна")
    page.get_by_role("textbox", name="Электронная почта").fill("alla.example.ru")
    page.locator("label.seg", has_text="SMS").click()
    page.get_by_label("Клиент согласен на обработку персональных данных").check()
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(page.locator("#err-email")).to_have_text("Адрес почты должен быть вида name@example.ru.")
    expect(page.get_by_label("Фамилия")).to_have_value("Зайцева")
    page.screenshot(path=str(ARTIFACTS / "desk-register-error.png"))
    page.get_by_role("textbox", name="Электронная почта").fill("alla@example.ru")
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(page.locator(".client-name")).to_have_text("Зайцева Алла Игоревна")
    expect(page.locator("#desk-client .phone")).to_have_text("+7 913 555-12-34")
    expect(page).to_have_url(re.compile(r"/staff/desk\?client=\d+$"))

    # Service, then the first free time of the first day with free time.
    page.get_by_role("link", name=re.compile("Аренда земельного участка")).click()
    expect(page.locator(".times-day")).to_be_visible()
    first = page.locator(".slot").first
    time_text = first.locator(".slot-time").inner_text()
    page.screenshot(path=str(ARTIFACTS / "desk-slots.png"))
    first.click()
    expect(page.get_by_role("heading", name="Проверьте запись")).to_be_visible()
    expect(page.locator(".summary-when")).to_contain_text(time_text)
    # The first free time is minutes away: reminders that cannot arrive in time are off (§30).
    expect(page.get_by_role("radio", name="За день и за 2 часа")).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "desk-confirm.png"))
    page.locator("label.seg", has_text="Без напоминаний").click()
    page.get_by_role("button", name="Записать").click()

    code = page.locator("#booking-code")
    expect(code).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{6}$"))
    text = page.locator("#confirmation-text")
    expect(text).to_contain_text("Алла Игоревна, вы записаны на приём")
    expect(text).to_contain_text(f"в {time_text}.")
    expect(text).to_contain_text(re.compile(r"Вас примет .+, кабинет \d+, \d этаж\."))
    expect(text).to_contain_text("Как пройти к кабинету:")
    expect(text).to_contain_text("ул. Кирова, 3")
    expect(text).to_contain_text(
        "Отменить запись можно по телефону 238-60-02 или 238-60-62 (пн–чт 09:00–18:00"
    )
    expect(page.get_by_role("img", name=re.compile("QR-код записи"))).to_be_visible()
    booked_code = code.inner_text()
    with live.session() as session:
        booking = session.exec(select(Booking).where(Booking.code == booked_code)).one()
        queued = session.exec(
            select(OutgoingMessage).where(
                OutgoingMessage.booking_id == booking.id,
                OutgoingMessage.kind == MessageKind.CONFIRMATION.value,
            )
        ).one()
        assert not booking.remind_day_before and not booking.remind_two_hours_before
    # What the operator reads is exactly what was queued for the client.
    assert queued.channel == "sms"
    expect(page.locator("#desk-bookings")).to_contain_text(booked_code)
    page.screenshot(path=str(ARTIFACTS / "desk-confirmation.png"), full_page=True)

    # A page left open past its session token: the refusal shows in the alert bar, the desk stays.
    page.evaluate(
        "document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRF-Token': 'stale'}))"
    )
    page.locator(f"#booking-{booking.id}").get_by_role("button", name="Отменить").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Да, отменить запись").click()
    expect(page.locator(".desk-alert #error")).to_contain_text("Страница устарела")
    expect(page.locator("#desk-bookings")).to_be_visible()
    page.reload()
    expect(page.locator("#booking-code")).to_have_text(booked_code)

    # Cancel from the client's list: ask, give a reason, confirm.
    page.locator(f"#booking-{booking.id}").get_by_role("button", name="Отменить").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Отменить запись на")
    dialog.get_by_label("Причина").fill("Клиент решил вопрос по телефону")
    page.screenshot(path=str(ARTIFACTS / "desk-cancel.png"))
    dialog.get_by_role("button", name="Да, отменить запись").click()
    bookings = page.locator("#desk-bookings")
    expect(bookings.locator(".notice")).to_contain_text("отменена. Это время снова свободно.")
    expect(bookings.locator(".notice")).to_contain_text("Сообщение об отмене поставлено в очередь")
    expect(bookings).to_contain_text("Предстоящих записей нет.")
    with live.session() as session:
        cancelled = session.get(Booking, booking.id)
        assert cancelled is not None and cancelled.status == BookingStatus.CANCELLED
        assert (
            session.exec(select(SlotHold).where(SlotHold.booking_id == booking.id)).first() is None
        )
        client = session.exec(select(Client).where(Client.surname == "Зайцева")).one()
        assert client.consent_at is not None and client.phone == "+79135551234"
