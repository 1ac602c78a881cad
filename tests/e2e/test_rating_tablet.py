"""A visit is finished; the room's tablet asks for a rating; the unit head sees the low score live."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import LiveServer, device_page, staff_page
from tests.factories import make_finished_ticket
from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.models import DeviceKind
from visits.services.rating import rating_prompt_open

# The prompt is written by this test process, not by the server: the server's stream sees it
# at its next heartbeat (15 s) or the idle screen's poll, not through its in-process bus.
FROM_OUTSIDE_MS = 25_000


def test_tablet_rating_reaches_report_and_unit_head(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    tablet = device_page(new_context, live, DeviceKind.TABLET, "tablet", room_number="305")
    tablet.goto("/kiosk/tablet")
    expect(tablet.get_by_text("После приёма здесь можно оценить визит.")).to_be_visible()

    head = staff_page(new_context, "smirnov")
    head.get_by_role("link", name="Отчёты").click()
    expect(head.get_by_role("heading", name="Низкие оценки за 7 дней")).to_be_visible()

    # The specialist finishes the visit (the staff terminal calls rating_prompt_open).
    with live.session() as session:
        ticket = make_finished_ticket(session, open_calendar, slot=3)
        with write_transaction(session):
            rating_prompt_open(session, ticket=ticket)

    expect(tablet.get_by_role("heading", name="Оцените, пожалуйста, ваш визит")).to_be_visible(
        timeout=FROM_OUTSIDE_MS
    )
    expect(tablet.locator(".rating-ticket")).to_have_text(f"Талон {ticket.number}")
    expect(tablet.locator("#tablet-screen")).not_to_contain_text("Петрович")
    tablet.get_by_role("button", name="2 — Плохо").click()
    tablet.get_by_text("невежливо", exact=True).click()
    expect(tablet.get_by_role("checkbox", name="невежливо")).to_be_checked()
    for key in "грубо":
        tablet.locator(".osk").get_by_role("button", name=key, exact=True).click()
    expect(tablet.get_by_label("Комментарий, если хотите")).to_have_value("грубо")
    tablet.get_by_role("button", name="Отправить оценку").click()
    expect(tablet.get_by_role("heading", name="Спасибо!")).to_be_visible()

    # The unit head's open page gets the alert by push, without a reload.
    alert = head.locator("#report-alerts")
    expect(alert).to_contain_text("Низкие оценки за 7 дней: 1", timeout=3_000)
    expect(alert).to_contain_text(ticket.number)
    expect(alert).to_contain_text("невежливо")
    expect(alert).to_contain_text("«грубо»")

    admin = staff_page(new_context, "admin")
    admin.goto("/staff/reports")
    expect(admin.locator("#report-comments")).to_contain_text("грубо")
    expect(admin.locator("#report-by_staff")).to_contain_text("Иванова М. П.")
    expect(admin.locator("[data-figure=low] strong")).to_have_text("100%")

    # The same ticket's phone link now says it was rated.
    phone = new_context("staff").new_page()
    phone.goto(f"/t/{ticket.token}/rating?via=link")
    expect(phone.get_by_role("heading", name="Этот визит уже оценён. Спасибо!")).to_be_visible()
