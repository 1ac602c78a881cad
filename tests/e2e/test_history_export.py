"""An operator opens a client's card and hands out the history; the file holds every event."""

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, expect
from sqlmodel import select

from tests.e2e.conftest import LiveServer, staff_page
from tests.factories import walk_visit
from tests.unit.test_history_walk import EXPECTED
from visits.calendar import WorkCalendar
from visits.models import HistoryEntry


def test_operator_exports_the_walked_visit(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    with live.session() as session:
        visitor, ticket = walk_visit(session, open_calendar)
        events = [
            (e.kind, e.summary)
            for e in session.exec(
                select(HistoryEntry)
                .where(HistoryEntry.client_id == visitor.id)
                .order_by(HistoryEntry.at, HistoryEntry.id)
            ).all()
        ]
    assert [kind for kind, _summary in events] == [k.value for k in EXPECTED]

    page = staff_page(new_context, "operator")
    page.get_by_role("link", name="Клиенты").click()
    page.get_by_label("Телефон или фамилия").fill("Сидоров")
    page.get_by_role("link", name="Сидоров Пётр Ильич").click()
    expect(page.get_by_role("heading", name="Сидоров Пётр Ильич")).to_be_visible()
    timeline = page.locator("#history-timeline li")
    expect(timeline).to_have_count(len(EXPECTED))
    expect(page.locator("#history-timeline")).to_contain_text(ticket.number)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="JSON").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["client"]["full_name"] == "Сидоров Пётр Ильич"
    assert [(e["kind"], e["summary"]) for e in document["entries"]] == events

    with page.expect_download() as pdf_info:
        page.get_by_role("button", name="PDF").click()
    assert Path(pdf_info.value.path()).read_bytes()[:4] == b"%PDF"

    # The exports are in the history now: filter the timeline to them.
    page.get_by_label("Вид события").select_option("history_exported")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("#history-timeline li")).to_have_count(2)
    # The walked visit plus the two exports.
    expect(page.locator("#history-count")).to_have_text(
        f"Показано 2 из {len(EXPECTED) + 2} событий."
    )
