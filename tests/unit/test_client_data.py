"""A client's data requests (§4): correct the data, merge duplicates, withdraw consent."""

import logging

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_client, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from visits.models import (
    Booking,
    CallTask,
    Client,
    ClientNote,
    HistoryEntry,
    MessageStatus,
    OutgoingMessage,
    Ticket,
)
from visits.services.client_data import client_consent_withdraw, client_merge, client_update


def _update(session: Session, client: Client, login: str = "operator", **changes: str) -> Client:
    values = {
        "surname": client.surname,
        "first_name": client.first_name,
        "patronymic": client.patronymic,
        "phone": client.phone,
        "email": client.email or "",
        "channel": client.channel,
        "second_channel": client.second_channel or "",
    }
    values.update(changes)
    return client_update(
        session=session, client_id=client.id, staff=staff_by_login(session, login), **values
    )


def _kinds(session: Session, client_id: int) -> list[str]:
    return [
        e.kind
        for e in session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.client_id == client_id)
            .order_by(HistoryEntry.at, HistoryEntry.id)
        ).all()
    ]


def test_update_keeps_old_and_new_values_in_history(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(session, surname="Петров")
    caplog.set_level(logging.INFO)
    updated = _update(session, client, surname="петрова", phone="8 (913) 555-12-34")
    assert (updated.surname, updated.phone) == ("Петрова", "+79135551234")
    entry = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == client.id, HistoryEntry.kind == "client_updated"
        )
    ).one()
    assert "фамилия: Петров → Петрова" in entry.summary
    assert "+7 913 555-12-34" in entry.summary
    assert entry.actor == staff_by_login(session, "operator").full_name
    # The log carries the masked phone only.
    assert "+79135551234" not in caplog.text and "***-12-34" in caplog.text


def test_update_without_changes_writes_nothing(session: Session) -> None:
    client = make_client(session)
    _update(session, client)
    assert _kinds(session, client.id) == ["client_registered"]


def test_update_refuses_bad_input_and_saves_nothing(session: Session) -> None:
    client = make_client(session, channel="sms")
    with pytest.raises(InvalidInput) as err:
        _update(session, client, surname="Сидоров", phone="12345")
    assert err.value.field == "phone"
    with pytest.raises(InvalidInput) as err:
        _update(session, client, email="", channel="email")
    assert err.value.field == "email"
    session.expire_all()
    assert session.get(Client, client.id).surname == "Петров"


def test_specialist_may_correct_only_their_clients(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    client = session.get(Client, booking.client_id)
    assert _update(session, client, "ivanova", patronymic="Ильич").patronymic == "Ильич"
    with pytest.raises(Forbidden):
        _update(session, client, "smirnov", patronymic="Петрович")


def test_merge_moves_everything_and_loses_nothing(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    kept = make_client(session, surname="Кузнецов", patronymic="", email=None)
    duplicate = make_client(
        session, surname="Кузнецов", patronymic="Андреевич", phone="+79137770011"
    )
    booking = make_booking(session, calendar, client=duplicate)
    ticket = make_ticket(session, booking)
    with write_transaction(session):
        session.add(ClientNote(client_id=duplicate.id, staff_id=operator.id, text="Глуховат"))
        session.add(CallTask(client_id=duplicate.id, text="Позвонить", due_at=booking.starts_at))
    before_kept = _kinds(session, kept.id)
    before_dup = _kinds(session, duplicate.id)
    messages = session.exec(
        select(OutgoingMessage.id).where(OutgoingMessage.client_id == duplicate.id)
    ).all()

    result = client_merge(
        session=session, source_id=duplicate.id, target_id=kept.id, staff=operator
    )

    assert result.moved == {
        "history": len(before_dup),
        "bookings": 1,
        "tickets": 1,
        "messages": len(messages),
        "call_tasks": 1,
        "notes": 1,
        "calls": 0,  # the line's calls move too: tests/unit/test_calls.py
        "callbacks": 0,
    }
    session.expire_all()
    after = _kinds(session, kept.id)
    assert sorted(after) == sorted([*before_kept, *before_dup, "client_merged"])
    assert _kinds(session, duplicate.id) == []
    assert session.get(Booking, booking.id).client_id == kept.id
    assert session.get(Ticket, ticket.id).client_id == kept.id
    for model in (OutgoingMessage, CallTask, ClientNote):
        assert not session.exec(select(model).where(model.client_id == duplicate.id)).all()
    merged_kept = session.get(Client, kept.id)
    assert merged_kept.patronymic == "Андреевич"
    assert merged_kept.email == "ivan@example.ru"
    source = session.get(Client, duplicate.id)
    assert source.merged_into_id == kept.id
    assert source.phone == "+79137770011"  # the duplicate record is kept, marked
    merge_entry = session.exec(
        select(HistoryEntry).where(HistoryEntry.kind == "client_merged")
    ).one()
    assert f"№ {duplicate.id}" in merge_entry.summary
    assert "+7 913 777-00-11" in merge_entry.summary


def test_merge_refusals(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    a, b, c = make_client(session), make_client(session), make_client(session)
    with pytest.raises(InvalidInput):
        client_merge(session=session, source_id=a.id, target_id=a.id, staff=operator)
    with pytest.raises(Forbidden):
        client_merge(
            session=session,
            source_id=a.id,
            target_id=b.id,
            staff=staff_by_login(session, "ivanova"),
        )
    client_merge(session=session, source_id=a.id, target_id=b.id, staff=operator)
    with pytest.raises(RuleViolation):
        client_merge(session=session, source_id=a.id, target_id=c.id, staff=operator)


def test_merge_carries_a_withdrawn_consent(session: Session) -> None:
    operator = staff_by_login(session, "operator")
    kept, duplicate = make_client(session), make_client(session)
    client_consent_withdraw(session=session, client_id=duplicate.id, staff=operator)
    client_merge(session=session, source_id=duplicate.id, target_id=kept.id, staff=operator)
    assert session.get(Client, kept.id).consent_withdrawn_at is not None


def test_withdraw_consent_stops_messages(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    booking = make_booking(session, calendar)
    queued = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.client_id == booking.client_id,
            OutgoingMessage.status == MessageStatus.QUEUED,
        )
    ).all()
    assert queued
    client = client_consent_withdraw(session=session, client_id=booking.client_id, staff=operator)
    assert client.consent_withdrawn_at is not None
    session.expire_all()
    statuses = {
        m.status
        for m in session.exec(
            select(OutgoingMessage).where(OutgoingMessage.client_id == booking.client_id)
        )
    }
    assert statuses == {MessageStatus.SKIPPED}
    entry = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == booking.client_id,
            HistoryEntry.kind == "consent_withdrawn",
        )
    ).one()
    assert "пять лет" in entry.summary and "больше не отправляются" in entry.summary
    with pytest.raises(Conflict):
        client_consent_withdraw(session=session, client_id=booking.client_id, staff=operator)
