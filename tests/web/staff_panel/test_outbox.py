"""/staff/outbox (messages with their states) and /staff/calls (the operators' call tasks)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import csrf_of, htmx_headers, login_as
from tests.factories import make_client
from visits.db import write_transaction
from visits.models import CallTask, HistoryEntry, MessageKind, OutgoingMessage
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText
from visits.services.call_tasks import call_task_create


def _queue(session: Session) -> list[OutgoingMessage]:
    client = make_client(session, channel="email", second_channel="sms")
    with write_transaction(session):
        rows = message_queue(
            session,
            client=client,
            kind=MessageKind.REMINDER_DAY,
            text=MessageText(subject="Приём завтра в 10:30", body="Текст", sms="Коротко"),
        )
        rows[1].status = "failed"
        rows[1].error = "шлюз SMS ответил 500"
        rows[1].attempts = 3
    return rows


def _task(session: Session) -> CallTask:
    client = make_client(session, channel="phone")
    with write_transaction(session):
        task = call_task_create(
            session,
            client=client,
            text=f"Позвонить Ивану Петровичу, {client.phone}: напомнить о приёме завтра в 10:30",
        )
    return task


def test_outbox_lists_rows_with_states(client: FlaskClient, session: Session) -> None:
    _queue(session)
    login_as(client, "operator")
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert "Сообщения клиентам" in page
    assert 'href="/staff/outbox"' in page and ">Сообщения<" in page and ">Звонки<" in page  # menu
    assert "Напоминание за день" in page
    assert "в очереди" in page and "не отправлено" in page
    assert "Ошибка: шлюз SMS ответил 500" in page and "Попыток: 3" in page


def test_outbox_filter_returns_the_fragment(client: FlaskClient, session: Session) -> None:
    _queue(session)
    login_as(client, "admin")
    response = client.get("/staff/outbox?status=failed", headers=htmx_headers(client))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="outbox-list"')
    assert "<html" not in body
    assert body.count('data-status="failed"') == 1
    assert 'data-status="queued"' not in body


def test_specialist_has_no_outbox(client: FlaskClient, session: Session) -> None:
    _task(session)
    login_as(client, "ivanova")
    assert client.get("/staff/outbox").status_code == 403
    # «Звонки» shows a specialist only the call-backs promised in their name (§24).
    page = client.get("/staff/calls").get_data(as_text=True)
    assert "Обещанные перезвоны" in page and "Позвонить Ивану Петровичу" not in page


def test_operator_marks_a_call_done(client: FlaskClient, session: Session) -> None:
    task = _task(session)
    login_as(client, "operator")
    page = client.get("/staff/calls").get_data(as_text=True)
    assert "Позвонить Ивану Петровичу" in page and "Я позвонила</button>" in page
    response = client.post(
        f"/staff/calls/{task.id}/done",
        data={"outcome": "Клиент придёт"},
        headers=htmx_headers(client),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<li id="call-{task.id}"')
    assert "call-done" in body and "Клиент придёт" in body
    assert "<button" not in body
    session.expire_all()
    done = session.get(CallTask, task.id)
    assert done is not None and done.done_at is not None
    entry = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == task.client_id, HistoryEntry.kind == "call_task_done"
        )
    ).one()
    assert "Белова Н. Г." not in entry.summary and "позвонила клиенту" in entry.summary
    again = client.post(f"/staff/calls/{task.id}/done", headers=htmx_headers(client))
    assert again.status_code == 409
    assert "уже закрыл" in again.get_data(as_text=True)


def test_call_done_without_javascript_redirects_back(client: FlaskClient, session: Session) -> None:
    task = _task(session)
    login_as(client, "operator")
    response = client.post(f"/staff/calls/{task.id}/done", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/calls")
