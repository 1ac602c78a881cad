"""The consultation line in real browsers (issue 21, order part III).

An operator takes a call with F2, finds the caller, hands the call over once
(the sentence to say is on the card) to a colleague whose panel shows it
without a reload; the colleague promises a call-back in the caller's hours,
which appears in «Звонки» at that time and is closed with the answer; the
client's history shows every step. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import Database, create_database
from tests.e2e.conftest import ARTIFACTS, LiveServer, staff_page
from tests.factories import make_client, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig


@pytest.fixture(scope="module")
def live(
    database: Database, tmp_path_factory: pytest.TempPathFactory, office_config: OfficeConfig
) -> Iterator[LiveServer]:
    """Push streams re-read events twice a second, as in the staff terminal's test."""
    tmp = tmp_path_factory.mktemp("live-line")
    db = create_database(database.backend, tmp, office_config, template=database)
    server = LiveServer(db=db, tmp=tmp, extra_env={"PRIYOM_SSE_HEARTBEAT": "0.5"})
    server.start()
    yield server
    server.stop()
    db.drop()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"call-desk-{name}.png"), full_page=True)


def test_take_hand_over_promise_call_back_and_see_the_history(
    new_context: Callable[..., BrowserContext], live: LiveServer, open_calendar: WorkCalendar
) -> None:
    local = open_calendar.local_now()
    # The caller's interval starts at the next full hour: the call-back is due exactly then.
    start_hour = (local.hour + 1) % 24
    assert start_hour <= 22, "the e2e office's zone puts now in the morning (morning_timezone)"
    interval = (f"{start_hour:02d}:00", f"{start_hour + 1:02d}:00")
    with live.session() as session:
        caller = make_client(session, surname="Гаврилов", first_name="Олег", patronymic="Ильич")
        session.commit()
        client_id = caller.id
        ivanova_id = staff_by_login(session, "ivanova").id

    ivanova = staff_page(new_context, "ivanova")
    ivanova.goto("/staff/today")
    ivanova.evaluate("window.__noReload = true")

    operator = staff_page(new_context, "operator")
    operator.goto("/staff/line")
    expect(operator.get_by_text("часы работы линии: пн–чт 09:00–18:00")).to_be_visible()
    # The phone rings: one key opens the card.
    operator.keyboard.press("F2")
    operator.wait_for_url("**/staff/line/calls/*")
    card = operator.locator("#call-card")
    expect(card).to_contain_text("Звонок анонимный")

    card.get_by_label("Телефон или фамилия").fill("Гаврилов")
    card.locator("#call-search-results").get_by_role("button", name="Это он").click()
    expect(card.locator(".call-client-name")).to_have_text("Гаврилов Олег Ильич")
    card.get_by_label("Статус заявления").check()
    card.get_by_label("Услуга, если вопрос о ней").select_option(label="Аренда земельного участка")
    card.get_by_label("Коротко: что хочет клиент").fill("Когда будет готов договор аренды")
    card.get_by_role("button", name="Сохранить").click()
    expect(card.locator("#call-details")).to_contain_text("Сохранено.")

    # §23: the caller is told first; the card gives the sentence with name and position.
    handover = card.locator("#call-handover")
    expect(handover.locator("#handover-to option").first).to_contain_text("ведёт эту услугу")
    handover.locator("#handover-to").select_option(str(ivanova_id))
    handover.get_by_role("button", name="Что сказать клиенту").click()
    expect(card.locator("#call-handover .say")).to_contain_text(
        "Олег Ильич, сейчас я переключу ваш звонок на коллегу: Мария Петровна Иванова, "
        "главный специалист (отдел аренды земли)."
    )
    _shot(operator, "1-handover-sentence")
    card.get_by_role("button", name="Я сказала, переключить").click()
    expect(card).to_contain_text("Этот звонок ведёт Мария Петровна Иванова")

    # The colleague's panel shows the call with the note, without a reload.
    incoming = ivanova.locator(".call-incoming")
    expect(incoming).to_contain_text("Вам переключили звонок: Гаврилов Олег Ильич")
    expect(incoming).to_contain_text("Когда будет готов договор аренды")
    assert ivanova.evaluate("window.__noReload") is True
    _shot(ivanova, "2-incoming")
    incoming.get_by_text("Открыть карточку").click()
    ivanova.wait_for_url("**/staff/line/calls/*")
    card = ivanova.locator("#call-card")

    # §24: the phone, the deadline told, the caller's convenient hours.
    callback = card.locator("#call-callback")
    callback.locator("input[name=from1]").fill(interval[0])
    callback.locator("input[name=to1]").fill(interval[1])
    callback.get_by_role("button", name="Записать перезвон").click()
    expect(card.locator("#call-callback")).to_contain_text("Перезвон записан.")
    expect(card.locator("#call-callback .say")).to_contain_text(
        "Мы позвоним вам с ответом не позже чем"
    )
    expect(card.locator("#call-callback .say")).to_contain_text(f"с {interval[0]} до {interval[1]}")
    _shot(ivanova, "3-callback")
    card.get_by_label("Обещан перезвон").check()
    card.get_by_role("button", name="Завершить звонок").click()
    expect(card.locator(".call-meta")).to_contain_text("Завершён")
    expect(card.locator(".call-meta")).to_contain_text("Обещан перезвон")

    # «Звонки»: the call-back at the caller's interval, closed with the answer.
    ivanova.goto("/staff/calls")
    row = ivanova.locator("#callback-list li.callback").first
    expect(row.locator(".call-when")).to_contain_text(f"{local:%d.%m} {interval[0]}")
    expect(row).to_contain_text("Перезвонить Олегу Ильичу")
    _shot(ivanova, "4-calls")
    row.get_by_label("Какой ответ получил клиент").fill("Договор готов, подписание в кабинете 305")
    row.get_by_role("button", name="Я перезвонила").click()
    expect(ivanova.locator("#callback-list li.callback").first).to_contain_text(
        "Ответ: Договор готов, подписание в кабинете 305"
    )

    # The client's history (§4) holds the call, the hand-over and the call-back.
    operator.goto(f"/staff/clients/{client_id}")
    history = operator.locator("body")
    for text in (
        "Звонок на консультационную линию",
        "Звонок переключён на коллегу",
        "Обещан ответ по телефону",
        "Ответ дан по телефону",
        "Итог: Обещан перезвон",
        "Договор готов, подписание в кабинете 305",
    ):
        expect(history).to_contain_text(text)
    _shot(operator, "5-history")
