"""A call, a start and a finish on the specialist's day, in a real browser: what changed is
swapped in place, and the action's own pushed event does not make the panel read its whole
day again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlalchemy import text

from tests.conftest import Database, create_database
from tests.e2e.conftest import LiveServer, staff_page
from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.db import is_sqlite
from visits.models import Booking, Ticket
from visits.push import CHANNEL, push_emit

# Every read of the whole list that a pushed event started, by the event's name.
RECORD_PUSHED_READS = """
window.__pushedReads = [];
document.body.addEventListener("htmx:beforeRequest", function (event) {
  var config = event.detail.requestConfig;
  var cause = config && config.triggeringEvent;
  if (config.elt.id === "today-board" && cause && cause.type.indexOf("sse:") === 0) {
    window.__pushedReads.push(cause.type);
  }
});
window.__pushed = [];
document.body.addEventListener("htmx:sseMessage", function (event) {
  window.__pushed.push(event.detail.type);
});
"""


@pytest.fixture(scope="module")
def live(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[LiveServer]:
    """The server re-reads events twice a second: this test writes from its own process."""
    tmp = tmp_path_factory.mktemp("live-today-call")
    db = create_database(database.backend, tmp, office_config, template=database)
    server = LiveServer(db=db, tmp=tmp, extra_env={"PRIYOM_SSE_HEARTBEAT": "0.5"})
    server.start()
    yield server
    server.stop()
    db.drop()


def _check_in(live: LiveServer, booking_id: int, staff_id: int) -> Ticket:
    """The kiosk's check-in, without the kiosk: the ticket and its push event in one commit."""
    with live.session() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        ticket = make_ticket(session, booking)
        event = push_emit(session, "ticket.checked_in", [f"staff:{staff_id}"], ticket_id=ticket.id)
        session.commit()
        if not is_sqlite(session):
            # As the server's PostgreSQL bus would tell the other servers.
            session.execute(text("SELECT pg_notify(:c, :id)"), {"c": CHANNEL, "id": str(event.id)})
            session.commit()
        session.expunge(ticket)
        return ticket


def _row(page: Page, number: str) -> Locator:
    return page.locator("#today-board tbody tr", has_text=number)


def test_a_call_swaps_what_changed_and_its_echo_reads_nothing(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    local = open_calendar.local_now()
    booked = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    with live.session() as session:
        staff_id = staff_by_login(session, "ivanova").id or 0
        bookings = [
            make_booking(session, open_calendar, starts_at=booked + timedelta(hours=i)).id or 0
            for i in (-1, 0, 1)
        ]
    first, second = (_check_in(live, b, staff_id) for b in bookings[:2])

    ivanova = staff_page(new_context, "ivanova")
    ivanova.goto("/staff/today")
    expect(ivanova.locator("[data-waiting]")).to_have_text("2")
    expect(_row(ivanova, second.number).get_by_role("button", name="Вызвать")).to_be_visible()
    ivanova.evaluate("window.__noReload = true")
    ivanova.evaluate(RECORD_PUSHED_READS)

    ivanova.get_by_role("button", name="Пригласить следующего").click()
    expect(ivanova.locator(".current-number")).to_have_text(first.number)
    expect(ivanova.locator(".current")).to_contain_text("Вызван в")
    expect(_row(ivanova, first.number)).to_contain_text("Вызван в")
    expect(ivanova.locator("[data-waiting]")).to_have_text("1")
    # Busy now: nobody is called out of turn, as the whole list would show it.
    expect(_row(ivanova, second.number).get_by_role("button", name="Вызвать")).to_have_count(0)
    # The call's own event arrives, and the list is not read for it.
    ivanova.wait_for_function("window.__pushed.includes('ticket.called')")

    # Another visitor checks in: that event still reads the list (once).
    third = _check_in(live, bookings[2], staff_id)
    expect(_row(ivanova, third.number)).to_contain_text("Ждёт с")
    expect(ivanova.locator("[data-waiting]")).to_have_text("2")
    assert ivanova.evaluate("window.__pushedReads") == ["sse:ticket.checked_in"]
    assert ivanova.evaluate("window.__noReload") is True

    # The panel works on from the swapped parts: start, then finish, each answered with
    # what it changed, and their echoes read nothing either.
    ivanova.get_by_role("button", name="Клиент пришёл, начать приём").click()
    expect(_row(ivanova, first.number)).to_contain_text("На приёме")
    ivanova.get_by_role("button", name="Завершить приём").click()
    expect(ivanova.locator("#today-message")).to_contain_text("Приём завершён.")
    expect(_row(ivanova, first.number)).to_contain_text("Принят")
    expect(ivanova.locator(".current")).to_contain_text(f"Следующий: {second.number}")
    expect(ivanova.locator("[data-waiting]")).to_have_text("2")
    for row in (second, third):
        expect(_row(ivanova, row.number).get_by_role("button", name="Вызвать")).to_be_visible()
    ivanova.wait_for_function("window.__pushed.includes('ticket.finished')")
    assert "queue.changed" in ivanova.evaluate("window.__pushed")
    assert ivanova.evaluate("window.__pushedReads") == ["sse:ticket.checked_in"]
    assert ivanova.evaluate("window.__noReload") is True
