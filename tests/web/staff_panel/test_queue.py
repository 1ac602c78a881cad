"""The specialist's day through the Flask client: each action and the fragment it returns."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import htmx_headers, login_as
from tests.factories import make_booking, make_ticket, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import (
    AuditEntry,
    ClientNote,
    ColleagueInvite,
    PushEvent,
    Room,
    RoomReservation,
    Ticket,
    TicketStatus,
)


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    """Books today at any hour, whatever the day of the week."""
    return WorkCalendar(office_config, always_open=True)


def _today_ticket(
    session: Session, calendar: WorkCalendar, hh: int, mm: int = 0, **kwargs: str
) -> Ticket:
    at = calendar.at(calendar.today(), time(hh, mm))
    booking = make_booking(session, calendar, starts_at=at, **kwargs)
    return make_ticket(session, booking)


def _post(client: FlaskClient, url: str, **data: str) -> tuple[int, str]:
    response = client.post(url, data=data, headers=htmx_headers(client))
    return response.status_code, response.get_data(as_text=True)


def test_page_and_fragment_for_a_specialist_only(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    page = client.get("/staff/today").get_data(as_text=True)
    assert 'sse-connect="/staff/events?after=' in page and 'hx-ext="sse"' in page
    assert "sse:ticket.checked_in" in page and "every 25s" in page
    assert "Мой день" in page and ticket.number in page and "Иван Петрович" in page
    fragment = client.get("/staff/today", headers=htmx_headers(client))
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="today-board"')
    assert "Ждёт с" in body and "Пригласить следующего" in body
    assert "HX-Request" in fragment.headers["Vary"]

    other = client.application.test_client()
    login_as(other, "operator")
    assert other.get("/staff/today").status_code == 403


def test_call_next_start_finish(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    status, body = _post(client, "/staff/today/call-next")
    assert status == 200 and 'id="today-current"' in body and "Вызван в" in body
    assert "Клиент пришёл, начать приём" in body
    assert session.exec(select(PushEvent).where(PushEvent.kind == "ticket.called")).one()
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/start")
    assert status == 200 and "На приёме" in body and "Завершить приём" in body
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/finish")
    assert status == 200 and "Приём завершён. Клиенту отправлена ссылка на оценку." in body
    assert "Принят" in body
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == TicketStatus.DONE  # type: ignore[union-attr]
    staff = staff_by_login(session, "ivanova")
    actions = {
        a.action for a in session.exec(select(AuditEntry).where(AuditEntry.staff_id == staff.id))
    }
    assert {"ticket.call", "ticket.start", "ticket.finish"} <= actions


def test_a_ticket_changed_meanwhile_gives_a_message_and_the_refreshed_list(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    second_terminal = client.application.test_client()
    login_as(second_terminal, "ivanova")
    assert _post(second_terminal, f"/staff/today/tickets/{ticket.id}/call")[0] == 200
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/call")
    assert status == 409
    assert f"Талон {ticket.number} уже вызван. Список обновлён." in body
    assert 'id="today-board"' in body and "Вызван в" in body
    status, body = _post(client, "/staff/today/tickets/999999/start")
    assert status == 404 and 'id="today-board"' in body and "Талон не найден" in body


def test_recall_no_show_rule_and_return(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    _post(client, "/staff/today/call-next")
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/no-show")
    assert status == 409 and "после двух повторных вызовов" in body
    for _ in range(2):
        status, body = _post(client, f"/staff/today/tickets/{ticket.id}/recall")
        assert status == 200 and "Повторный вызов показан на табло." in body
    assert "повторных вызовов: 2" in body
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/return")
    assert status == 200 and "Ждёт с" in body
    _post(client, f"/staff/today/tickets/{ticket.id}/call")
    assert _post(client, f"/staff/today/tickets/{ticket.id}/bogus")[0] == 404


def test_transfer_form_success_and_the_third_refused(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    smirnov = staff_by_login(session, "smirnov")
    kuznetsova = staff_by_login(session, "kuznetsova")
    ivanova = staff_by_login(session, "ivanova")
    login_as(client, "ivanova")
    form = client.get(f"/staff/today/tickets/{ticket.id}/transfer", headers=htmx_headers(client))
    text = form.get_data(as_text=True)
    assert (
        'id="today-side"' in text
        and "Смирнов А. В." in text
        and "Передач уже было: 0 из 2." in text
    )
    status, body = _post(
        client, f"/staff/today/tickets/{ticket.id}/transfer", to_staff=str(smirnov.id), reason=""
    )
    assert status == 422 and "Укажите причину передачи." in body
    response = client.post(
        f"/staff/today/tickets/{ticket.id}/transfer",
        data={"to_staff": str(smirnov.id), "reason": "Вопрос ведёт начальник отдела"},
        headers=htmx_headers(client),
    )
    assert response.status_code == 200
    assert json.loads(response.headers["HX-Trigger"]) == {"today-side-clear": True}
    body = response.get_data(as_text=True)
    assert "Талон передан." in body and "Передан: Смирнов А. В." in body
    # The second and the third hand-over, by the next specialists.
    login_as(client, "smirnov")
    assert "передан вам" in client.get("/staff/today").get_data(as_text=True)
    purchase = service_by_code(session, "land-purchase")
    _post(
        client,
        f"/staff/today/tickets/{ticket.id}/transfer",
        to_staff=str(kuznetsova.id),
        to_service=str(purchase.id),
        reason="Выкуп",
    )
    login_as(client, "kuznetsova")
    response = client.post(
        f"/staff/today/tickets/{ticket.id}/transfer",
        data={"to_staff": str(ivanova.id), "reason": "Обратно"},
        headers=htmx_headers(client),
    )
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#today-side"
    assert (
        "Талон уже передавали дважды. Решите вопрос сами или пригласите коллегу в кабинет."
        in response.get_data(as_text=True)
    )


def test_client_card_and_a_note(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    card = client.get(
        f"/staff/today/bookings/{ticket.booking_id}/card", headers=htmx_headers(client)
    )
    text = card.get_data(as_text=True)
    assert card.status_code == 200 and 'id="today-side"' in text
    assert "Петров Иван Петрович" in text and "Кадастровый номер участка" in text
    assert "Клиент приходит впервые." in text
    status, body = _post(
        client, f"/staff/today/bookings/{ticket.booking_id}/notes", text="Просил копию договора"
    )
    assert status == 200 and "Просил копию договора" in body
    assert session.exec(select(ClientNote).where(ClientNote.client_id == ticket.client_id)).one()
    status, body = _post(client, f"/staff/today/bookings/{ticket.booking_id}/notes", text=" ")
    assert status == 422 and "Напишите текст заметки." in body
    viewed = session.exec(select(AuditEntry).where(AuditEntry.action == "client.card_viewed")).all()
    assert viewed and viewed[0].client_id == ticket.client_id


def test_meeting_room_reserve_invite_release(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    room = session.exec(select(Room).where(Room.number == "311")).one()
    smirnov = staff_by_login(session, "smirnov")
    login_as(client, "ivanova")
    _post(client, "/staff/today/call-next")
    panel = client.get(f"/staff/today/tickets/{ticket.id}/rooms", headers=htmx_headers(client))
    text = panel.get_data(as_text=True)
    assert "предложите чай, кофе или воду" in text and "311" in text and "Свободна" in text
    response = client.post(
        f"/staff/today/tickets/{ticket.id}/rooms",
        data={"room": str(room.id), "minutes": "30"},
        headers=htmx_headers(client),
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Переговорная занята за вами." in text
    assert "Пригласить коллегу" in text
    reservation = session.exec(select(RoomReservation)).one()
    status, body = _post(
        client,
        f"/staff/today/tickets/{ticket.id}/invite",
        to_staff=str(smirnov.id),
        message="Нужна ваша помощь",
    )
    assert status == 200 and "Приглашение отправлено: Алексей Викторович Смирнов." in body
    invite = session.exec(select(ColleagueInvite)).one()

    colleague = client.application.test_client()
    login_as(colleague, "smirnov")
    board = colleague.get("/staff/today").get_data(as_text=True)
    assert "вас на разговор." in board and "переговорная 311, 3 этаж" in board
    status, body = _post(colleague, f"/staff/today/invites/{invite.id}/seen")
    assert status == 200 and "вас на разговор." not in body

    board = client.get("/staff/today").get_data(as_text=True)
    assert "Разговор в переговорной 311" in board
    status, body = _post(client, f"/staff/today/reservations/{reservation.id}/release")
    assert status == 200 and "Переговорная освобождена." in body
    status, body = _post(client, f"/staff/today/reservations/{reservation.id}/release")
    assert status == 409 and "уже освобождена" in body
    bad = client.post(
        f"/staff/today/tickets/{ticket.id}/rooms",
        data={"room": "abc", "minutes": "30"},
        headers=htmx_headers(client),
    )
    assert bad.status_code == 422 and "Выберите значение из списка." in bad.get_data(as_text=True)


def test_late_call_shows_the_apology(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    # A fixed working morning, so the booking 30 minutes back is on the same local day.
    morning = datetime(2026, 12, 1, 10, 7, tzinfo=open_calendar.tz)
    with time_machine.travel(morning, tick=False):
        booking = make_booking(
            session, open_calendar, starts_at=morning.replace(minute=0) - timedelta(minutes=30)
        )
        make_ticket(session, booking, checked_in_at=booking.starts_at - timedelta(minutes=5))
        login_as(client, "ivanova")
        status, body = _post(client, "/staff/today/call-next")
    assert status == 200 and "позже записи. Извинитесь перед Иваном Петровичем." in body
    assert 'class="apology"' in body


def test_a_call_answers_with_what_changed_not_the_whole_day(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    first = _today_ticket(session, open_calendar, 9)
    later = _today_ticket(session, open_calendar, 10)
    last = _today_ticket(session, open_calendar, 11)
    login_as(client, "ivanova")
    response = client.post("/staff/today/call-next", headers=htmx_headers(client))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    # The current panel replaces itself; the list is not sent again.
    assert response.headers["HX-Retarget"] == "#today-current"
    assert body.lstrip().startswith('<section id="today-current"') and first.number in body
    assert 'id="today-board"' not in body and "<table" not in body
    assert later.number not in body and last.number not in body
    # Out of band: the called row, the count, the message; the others' «Вызвать» removed.
    assert f'<tr id="today-row-{first.booking_id}"' in body and "Вызван в" in body
    assert 'id="today-counts"' in body and "<strong data-waiting>2</strong>" in body
    assert 'id="today-message"' in body
    assert 'hx-swap-oob="delete:#today-board .call-out-of-turn"' in body
    # The call's own event, so the panel does not read its day again on the echo.
    event = session.exec(select(PushEvent).where(PushEvent.kind == "ticket.called")).one()
    assert json.loads(response.headers["HX-Trigger"]) == {"today-own-event": {"id": event.id}}

    # The whole day, read afterwards, shows the same: the called row, no call buttons left.
    board = client.get("/staff/today", headers=htmx_headers(client)).get_data(as_text=True)
    assert "<strong data-waiting>2</strong>" in board and "call-out-of-turn" not in board


def test_a_call_out_of_turn_of_the_last_waiting_answers_with_what_changed(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    board = client.get("/staff/today", headers=htmx_headers(client)).get_data(as_text=True)
    assert (
        f'aria-label="Вызвать {ticket.number}"' in board
        and 'class="btn btn-small call-out-of-turn"' in board
    )
    status, body = _post(client, f"/staff/today/tickets/{ticket.id}/call")
    assert status == 200 and body.lstrip().startswith('<section id="today-current"')
    assert "<strong data-waiting>0</strong>" in body
    # Nobody else waits: no «Вызвать» button is left to remove.
    assert "delete:" not in body
    # A refused call answers with the whole day and its message, as every action does.
    status, body = _post(client, "/staff/today/call-next")
    assert status == 409 and 'id="today-board"' in body
    assert "Сначала завершите приём по талону" in body


def test_a_start_and_a_finish_answer_with_what_changed_not_the_whole_day(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    first = _today_ticket(session, open_calendar, 9)
    later = _today_ticket(session, open_calendar, 10)
    make_booking(
        session, open_calendar, starts_at=open_calendar.at(open_calendar.today(), time(12))
    )
    login_as(client, "ivanova")
    _post(client, "/staff/today/call-next")

    response = client.post(f"/staff/today/tickets/{first.id}/start", headers=htmx_headers(client))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#today-current"
    assert body.lstrip().startswith('<section id="today-current"') and "Завершить приём" in body
    assert f'<tr id="today-row-{first.booking_id}"' in body and "На приёме" in body
    assert "<table" not in body and later.number not in body and "delete:" not in body
    assert "<strong data-waiting>1</strong>" in body and 'id="today-message"' in body
    started = session.exec(select(PushEvent).where(PushEvent.kind == "queue.changed")).one()
    assert json.loads(response.headers["HX-Trigger"]) == {"today-own-event": {"id": started.id}}

    response = client.post(f"/staff/today/tickets/{first.id}/finish", headers=htmx_headers(client))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#today-current"
    # Free again: the call button with the next visitor, the finished row, those who wait
    # with their «Вызвать» back, the count and the message; not the rows that did not change.
    assert body.lstrip().startswith('<section id="today-current" class="current current-free"')
    assert f"Следующий: <strong>{later.number}</strong>" in body and "<table" not in body
    assert f'<tr id="today-row-{first.booking_id}"' in body and "Принят" in body
    assert f'<tr id="today-row-{later.booking_id}"' in body
    assert f'aria-label="Вызвать {later.number}"' in body and "Ещё не пришёл" not in body
    assert "<strong data-waiting>1</strong>" in body
    assert "Приём завершён. Клиенту отправлена ссылка на оценку." in body
    finished = session.exec(select(PushEvent).where(PushEvent.kind == "ticket.finished")).one()
    assert json.loads(response.headers["HX-Trigger"]) == {"today-own-event": {"id": finished.id}}

    # The whole day, read afterwards, shows the same rows.
    board = client.get("/staff/today", headers=htmx_headers(client)).get_data(as_text=True)
    for booking_id in (first.booking_id, later.booking_id):
        row = re.search(rf'<tr id="today-row-{booking_id}".*?</tr>', board, re.S)
        assert row is not None
        assert row.group(0).replace(">", ' hx-swap-oob="true">', 1) in body


def test_a_call_without_htmx_gets_the_whole_page(
    client: FlaskClient, session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _today_ticket(session, open_calendar, 9)
    login_as(client, "ivanova")
    response = client.post(
        "/staff/today/call-next", headers={"X-CSRF-Token": htmx_headers(client)["X-CSRF-Token"]}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Retarget" not in response.headers
    assert "<html" in page and 'id="today-board"' in page and ticket.number in page
