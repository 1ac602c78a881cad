"""The specialist's terminal in real browsers (issue 4): two staff browsers and a check-in.

A visitor checks in (the ticket is written straight into the server's database,
as the kiosk does, with its push event), appears in the specialist's list
without a reload, is called, transferred once to a colleague whose list also
updates by itself, moved to a meeting room with an invited colleague, and
finished. Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import Database, create_database
from tests.e2e.conftest import ARTIFACTS, LiveServer, staff_page
from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.db import is_sqlite
from visits.models import Booking, Room, Ticket
from visits.push import CHANNEL, push_emit


@pytest.fixture(scope="module")
def live(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[LiveServer]:
    """The server re-reads events twice a second: this test writes from its own process."""
    tmp = tmp_path_factory.mktemp("live-staff")
    db = create_database(database.backend, tmp, office_config, template=database)
    server = LiveServer(db=db, tmp=tmp, extra_env={"PRIYOM_SSE_HEARTBEAT": "0.5"})
    server.start()
    yield server
    server.stop()
    db.drop()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff-terminal-{name}.png"), full_page=True)


def _row(page: Page, number_or_name: str) -> object:
    return page.locator("#today-board tbody tr", has_text=number_or_name)


def test_check_in_call_transfer_meeting_room_finish(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    local = open_calendar.local_now()
    assert local.hour >= 1, "the e2e office's zone puts now in the morning (morning_timezone)"
    booked = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    with live.session() as session:
        booking = make_booking(session, open_calendar, starts_at=booked - timedelta(minutes=15))
        ivanova_id = staff_by_login(session, "ivanova").id
        smirnov_id = staff_by_login(session, "smirnov").id
        booking_id = booking.id

    ivanova = staff_page(new_context, "ivanova")
    ivanova.goto("/staff/today")
    expect(ivanova.get_by_role("heading", name="Мой день")).to_be_visible()
    expect(_row(ivanova, "Иван Петрович")).to_contain_text("Ещё не пришёл")  # type: ignore[arg-type]
    smirnov = staff_page(new_context, "smirnov")
    smirnov.goto("/staff/today")
    expect(smirnov.get_by_text("На сегодня записей нет.")).to_be_visible()
    # A mark that a reload would wipe.
    ivanova.evaluate("window.__noReload = true")
    smirnov.evaluate("window.__noReload = true")

    # The kiosk's check-in, without the kiosk: the ticket and its push event in one commit.
    with live.session() as session:
        row = session.get(Booking, booking_id)
        assert row is not None
        ticket = make_ticket(session, row)
        event = push_emit(
            session, "ticket.checked_in", [f"staff:{ivanova_id}"], ticket_id=ticket.id
        )
        session.commit()
        if not is_sqlite(session):
            # As the server's PostgreSQL bus would tell the other servers.
            session.execute(text("SELECT pg_notify(:c, :id)"), {"c": CHANNEL, "id": str(event.id)})
            session.commit()
        number = ticket.number
        ticket_id = ticket.id
    expect(_row(ivanova, number)).to_contain_text("Ждёт с")  # type: ignore[arg-type]
    expect(ivanova.locator("[data-waiting]")).to_have_text("1")
    assert ivanova.evaluate("window.__noReload") is True
    _shot(ivanova, "1-waiting")

    ivanova.get_by_role("button", name="Пригласить следующего").click()
    expect(ivanova.locator(".current-number")).to_have_text(number)
    expect(ivanova.locator(".current")).to_contain_text("Вызван в")
    ivanova.locator(".current").get_by_role("button", name="Карточка").click()
    expect(ivanova.locator("#today-side")).to_contain_text("Документы для этого вопроса")
    expect(ivanova.locator("#today-side")).to_contain_text("Кадастровый номер участка")
    _shot(ivanova, "2-called-card")

    # Transfer once (§23), to a colleague whose own list shows the ticket by itself.
    ivanova.locator(".current").get_by_role("button", name="Передать").click()
    side = ivanova.locator("#today-side")
    side.locator("#to-staff").select_option(str(smirnov_id))
    side.get_by_label("Причина").fill("Вопрос ведёт начальник отдела")
    _shot(ivanova, "3-transfer-form")
    side.get_by_role("button", name="Передать").click()
    expect(ivanova.locator("#today-message")).to_contain_text("Талон передан.")
    expect(_row(ivanova, number)).to_contain_text("Передан: Смирнов А. В.")  # type: ignore[arg-type]
    expect(_row(smirnov, number)).to_contain_text("передан вам")  # type: ignore[arg-type]
    expect(_row(smirnov, number)).to_contain_text("Ждёт с")  # type: ignore[arg-type]
    assert smirnov.evaluate("window.__noReload") is True

    # The colleague calls it and moves the conversation to a meeting room (§35).
    smirnov.get_by_role("button", name="Пригласить следующего").click()
    expect(smirnov.locator(".current-number")).to_have_text(number)
    smirnov.locator(".current").get_by_role("button", name="Перейти в переговорную").click()
    rooms = smirnov.locator("#today-side")
    expect(rooms).to_contain_text("предложите чай, кофе или воду")
    rooms.get_by_role("button", name="Занять 311 на 30 минут").click()
    expect(rooms).to_contain_text("Переговорная занята за вами.")
    expect(smirnov.locator(".reservation")).to_contain_text("Разговор в переговорной 311")
    # Inviting a colleague is its own action (§35.3), here from the meeting room's card.
    rooms.get_by_role("button", name="Пригласить коллегу").click()
    invite_form = smirnov.locator("#today-side")
    invite_form.get_by_label("Коллега", exact=True).select_option(str(ivanova_id))
    invite_form.get_by_label("Коротко: в чём вопрос").fill("Спор о границах участка")
    invite_form.get_by_role("button", name="Пригласить").click()
    expect(invite_form).to_contain_text("Приглашение отправлено: Мария Петровна Иванова.")
    _shot(smirnov, "4-meeting-room")
    # The invited colleague sees the notice in her own panel, without a reload.
    invite = ivanova.locator(".invite")
    expect(invite).to_contain_text("Алексей Викторович Смирнов пригласил вас на разговор.")
    expect(invite).to_contain_text("Ждёт вас: переговорная 311, 3 этаж")
    _shot(ivanova, "5-invite")
    invite.get_by_role("button", name="Понятно").click()
    expect(ivanova.locator(".invite")).to_have_count(0)

    with live.session() as session:
        moved = session.get(Ticket, ticket_id)
        room = session.exec(select(Room).where(Room.number == "311")).one()
        assert moved is not None and moved.room_id == room.id

    smirnov.get_by_role("button", name="Клиент пришёл, начать приём").click()
    smirnov.get_by_role("button", name="Завершить приём").click()
    expect(smirnov.locator("#today-message")).to_contain_text(
        "Приём завершён. Клиенту отправлена ссылка на оценку."
    )
    expect(_row(smirnov, number)).to_contain_text("Принят")  # type: ignore[arg-type]
    _shot(smirnov, "6-finished")

    admin = staff_page(new_context, "admin")
    admin.goto("/staff/admin/day")
    expect(admin.get_by_role("heading", name="День офиса")).to_be_visible()
    expect(admin.locator(".admin-stats")).to_contain_text("приняты")
    _shot(admin, "7-admin-day")
