"""Texts that used to say «принял(а)», «записан(а)», «позвонил(а)» now agree with the person's name."""

from __future__ import annotations

from sqlmodel import Session, select

from tests.factories import make_booking, make_client, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.models import MessageKind, OutgoingMessage
from visits.notify import templates


def _final(session: Session, config: OfficeConfig, login: str) -> str:
    return templates.visit_final(
        config=config,
        client=make_client(session),
        staff=staff_by_login(session, login),
        ticket_number="А-001",
        survey_url="https://priem.example/r/abc",
    ).body


def test_final_message_says_who_received_the_visitor_in_the_right_gender(
    session: Session, office_config: OfficeConfig
) -> None:
    assert "Вас приняла Мария Петровна Иванова" in _final(session, office_config, "ivanova")
    assert "Вас принял Алексей Викторович" in _final(session, office_config, "smirnov")


def test_call_task_addresses_the_client_in_the_dative_by_the_library(session: Session) -> None:
    # «Любови Ивановне», not «Любове»; «Тимуру Рашидовичу»; a stressed -ич: «Ильичу».
    for first, patronymic, dative in (
        ("Любовь", "Ивановна", "Любови Ивановне"),
        ("Тимур", "Рашидович", "Тимуру Рашидовичу"),
        ("Владимир", "Ильич", "Владимиру Ильичу"),
        ("Саша", "Петровна", "Саше Петровне"),
    ):
        client = make_client(session, first_name=first, patronymic=patronymic)
        assert templates.call_addressee(client) == dative


def test_a_phone_confirmation_says_which_operator_told_the_client(
    session: Session, calendar: WorkCalendar
) -> None:
    client = make_client(session, channel="phone")
    booking = make_booking(session, calendar, client=client)  # booked by «operator», Наталья
    row = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.booking_id == booking.id,
            OutgoingMessage.kind == MessageKind.CONFIRMATION.value,
        )
    ).one()
    assert row.skip_reason == "Наталья Григорьевна Белова сообщила это клиенту при разговоре"
