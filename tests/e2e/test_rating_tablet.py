"""A visit is finished; the room's tablet asks for a rating; the unit head sees the low score live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from playwright.sync_api import BrowserContext, expect
from sqlmodel import select

from tests.e2e.conftest import LiveServer, device_page, staff_page
from tests.e2e.whole_day_support import a11y_check
from tests.factories import (
    make_booking,
    make_finished_ticket,
    make_ticket,
    service_by_code,
    staff_by_login,
)
from visits.calendar import WorkCalendar, utcnow
from visits.db import write_transaction
from visits.models import DeviceKind, Room
from visits.queries.slots import free_slots
from visits.services.meeting_rooms import room_reserve
from visits.services.queue import ticket_call_next, ticket_finish
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
    tablet.get_by_role("button", name="2 Плохо").click()
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


def test_a_visit_ended_in_a_meeting_room_is_rated_on_the_specialists_tablet(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    """§36, §35.4: the meeting room has no tablet; room 305's asks as the visitor walks out."""
    own = device_page(new_context, live, DeviceKind.TABLET, "tablet", room_number="305")
    own.goto("/kiosk/tablet")
    expect(own.get_by_text("После приёма здесь можно оценить визит.")).to_be_visible()
    meeting_room = device_page(new_context, live, DeviceKind.TABLET, "tablet", room_number="311")
    meeting_room.goto("/kiosk/tablet")

    with live.session() as session:
        now = utcnow()
        ivanova = staff_by_login(session, "ivanova")
        slot = free_slots(
            session,
            open_calendar,
            service=service_by_code(session, "land-lease"),
            staff_id=ivanova.id,
            now=now + timedelta(minutes=5),
            days=1,
        )[0]
        booking = make_booking(
            session, open_calendar, starts_at=slot.starts_at, staff_login="ivanova", now=now
        )
        make_ticket(session, booking, checked_in_at=now)
        ticket = ticket_call_next(
            session=session, calendar=open_calendar, staff=ivanova, now=now
        ).ticket
        room = session.exec(select(Room).where(Room.number == "311")).one()
        room_reserve(
            session=session,
            calendar=open_calendar,
            staff=ivanova,
            ticket_id=ticket.id,
            room_id=room.id,
            minutes=30,
            now=now,
        )
        ticket_finish(
            session=session, calendar=open_calendar, staff=ivanova, ticket_id=ticket.id or 0
        )

    expect(own.get_by_role("heading", name="Оцените, пожалуйста, ваш визит")).to_be_visible(
        timeout=FROM_OUTSIDE_MS
    )
    expect(own.locator(".rating-ticket")).to_have_text(f"Талон {ticket.number}")
    problems: list[str] = []
    a11y_check(own, "tablet 305: prompt after a meeting room", touch=True, problems=problems)
    own.get_by_role("button", name="5 Отлично").click()
    a11y_check(own, "tablet 305: reasons", touch=True, problems=problems)
    own.get_by_role("button", name="Отправить оценку").click()
    expect(own.get_by_role("heading", name="Спасибо!")).to_be_visible()
    a11y_check(own, "tablet 305: thanks", touch=True, problems=problems)
    # The meeting room's own tablet never asked.
    expect(meeting_room.get_by_text("После приёма здесь можно оценить визит.")).to_be_visible()
    assert not problems, "\n".join(problems)
