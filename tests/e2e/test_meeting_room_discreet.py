"""§35.2, §35.4 in real browsers: a conversation moves to a meeting room discreetly.

The specialist has the visitor in the room, takes meeting room 311 for a tense
conversation and escorts the visitor there. The hallway display beside the lift
shows no line about it, plays no chime and speaks no word, and no SMS or e-mail
goes out; a later call to another visitor still shows and is spoken, so the
display was listening all along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Request, expect
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import Database, create_database
from tests.e2e.conftest import ARTIFACTS, LiveServer, device_page, staff_page
from tests.factories import make_booking, make_call_event, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.db import is_sqlite
from visits.models import Booking, DeviceKind, MessageKind, OutgoingMessage, PushEvent
from visits.push import CHANNEL, push_emit
from visits.services.tts import speech_available

pytestmark = pytest.mark.skipif(
    not speech_available(),
    reason="espeak-ng is not installed (Debian: apt-get install espeak-ng; `make browser` does it)",
)

NO_BROWSER_VOICE = (
    "Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});"
)
# Wait inside the page until the display's audio log holds n announcements, all played
# with the server's audio (a function, not a string: the page's CSP forbids eval).
_WAIT_LOG = """n => new Promise((resolve, reject) => {
  const until = Date.now() + 30000;
  const check = () => {
    const log = window.priyomSignage.log;
    if (log.length === n && log.every(e => e.done && e.via === 'server' && e.error === null)) {
      resolve(true);
    } else if (Date.now() > until) {
      reject(new Error('announcements: ' + JSON.stringify(log)));
    } else {
      setTimeout(check, 100);
    }
  };
  check();
})"""


@pytest.fixture(scope="module")
def live(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("live-discreet")
    db = create_database(database.backend, tmp, office_config, template=database)
    server = LiveServer(db=db, tmp=tmp, extra_env={"PRIYOM_SSE_HEARTBEAT": "0.5"})
    server.start()
    yield server
    server.stop()
    db.drop()


def _check_in(live: LiveServer, booking_id: int, staff_id: int) -> tuple[str, int]:
    """The kiosk's check-in, without the kiosk: the ticket and its push event in one commit."""
    with live.session() as session:
        row = session.get(Booking, booking_id)
        assert row is not None
        ticket = make_ticket(session, row)
        event = push_emit(session, "ticket.checked_in", [f"staff:{staff_id}"], ticket_id=ticket.id)
        session.commit()
        if not is_sqlite(session):
            session.execute(text("SELECT pg_notify(:c, :id)"), {"c": CHANNEL, "id": str(event.id)})
            session.commit()
        return ticket.number, ticket.id or 0


def test_a_move_to_a_meeting_room_is_shown_said_and_sent_nowhere(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    local = open_calendar.local_now()
    booked = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    with live.session() as session:
        ivanova_id = staff_by_login(session, "ivanova").id or 0
        booking = make_booking(session, open_calendar, starts_at=booked - timedelta(minutes=15))
        other = make_booking(
            session,
            open_calendar,
            staff_login="popov",
            service_code="land-free",
            starts_at=booked - timedelta(minutes=15),
        )
        booking_id, other_id = booking.id or 0, other.id or 0

    display = device_page(new_context, live, DeviceKind.DISPLAY, "display", spot_key="f3-lift")
    display.add_init_script(NO_BROWSER_VOICE)
    speech: list[str] = []

    def count(request: Request) -> None:
        if "/signage/speech/" in request.url:
            speech.append(request.url.rsplit("/", 1)[-1])

    display.on("request", count)
    display.goto("/signage/")
    expect(display.locator("#signage")).to_have_attribute("data-connection", "live")

    ivanova = staff_page(new_context, "ivanova")
    ivanova.goto("/staff/today")
    number, ticket_id = _check_in(live, booking_id, ivanova_id)
    row = ivanova.locator("#today-board tbody tr", has_text=number)
    expect(row).to_contain_text("Ждёт с")

    # The call is public: the display shows and says it.
    ivanova.get_by_role("button", name="Пригласить следующего").click()
    expect(display.locator(".sg-call").first.locator(".sg-ticket")).to_have_text(number)
    expect(display.locator(".sg-call").first.locator(".sg-room")).to_have_text("кабинет 305")
    display.evaluate(_WAIT_LOG, 1)

    # The visitor is in; the talk turns tense; the specialist takes meeting room 311.
    ivanova.get_by_role("button", name="Клиент пришёл, начать приём").click()
    ivanova.locator(".current").get_by_role("button", name="Перейти в переговорную").click()
    rooms = ivanova.locator("#today-side")
    for words in ("проводите посетителя", "верхнюю одежду", "чай, кофе или воду"):
        expect(rooms).to_contain_text(words)
    rooms.get_by_role("button", name="Занять 311 на 30 минут").click()
    expect(rooms).to_contain_text("Проводите посетителя туда сами")
    expect(ivanova.locator(".reservation")).to_contain_text("Разговор в переговорной 311")
    ivanova.screenshot(path=str(ARTIFACTS / "discreet-move-terminal.png"), full_page=True)

    # Another visitor's call afterwards: once it is on the display and spoken, the display
    # has seen every event written before it, the move included.
    with live.session() as session:
        other_ticket = make_ticket(session, session.get(Booking, other_id))  # type: ignore[arg-type]
        later = make_call_event(session, other_ticket)
        later_id, other_number = later.id, other_ticket.number
    expect(display.locator(".sg-call").first).to_have_attribute(
        "data-event-id", str(later_id), timeout=20_000
    )
    expect(display.locator(".sg-call").first.locator(".sg-ticket")).to_have_text(other_number)
    display.evaluate(_WAIT_LOG, 2)
    display.screenshot(path=str(ARTIFACTS / "discreet-move-display.png"))

    # Nothing on the display about 311, and no third announcement.
    expect(display.locator(".sg-call", has_text="311")).to_have_count(0)
    expect(display.locator("#signage")).not_to_contain_text("переговорная 311")
    phrases = [str(e["phrase"]) for e in display.evaluate("window.priyomSignage.log")]
    assert len(phrases) == 2 and not any("переговорн" in p for p in phrases)
    assert len(speech) == 2
    with live.session() as session:
        moves = [
            e
            for e in session.exec(select(PushEvent).where(PushEvent.kind == "ticket.moved")).all()
            if e.payload.get("ticket_id") == ticket_id
        ]
        assert len(moves) == 1 and "displays" not in moves[0].topics
        assert f"{moves[0].id}.wav" not in speech
        # No SMS or e-mail about the room: only the confirmation went to the client.
        sent = session.exec(
            select(OutgoingMessage).where(OutgoingMessage.booking_id == booking_id)
        ).all()
        assert {m.kind for m in sent} == {MessageKind.CONFIRMATION.value}
