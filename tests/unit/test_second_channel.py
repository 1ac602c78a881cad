"""§13 (and §3): the notice of a re-addressing goes by the chosen channel and again by the second.

A visit handed to another specialist (§23) is the in-person re-addressing: the
client hears where the visit goes on, by the chosen channel and by the optional
second one. Dropping the duplicate fails here.
"""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlmodel import Session, select

from tests.factories import (
    make_booking,
    make_client,
    make_device,
    next_working_moment,
    staff_by_login,
)
from visits.calendar import WorkCalendar
from visits.models import DeviceKind, MessageKind, OutgoingMessage, Ticket
from visits.services.checkin import ticket_checkin
from visits.services.queue import ticket_call_next, ticket_start, ticket_transfer


def _transferred_ticket(session: Session, calendar: WorkCalendar, **client: str | None) -> Ticket:
    starts_at = next_working_moment(calendar)
    person = make_client(session, **client)
    booking = make_booking(session, calendar, client=person, starts_at=starts_at)
    kiosk, _token = make_device(session, DeviceKind.KIOSK)
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    with time_machine.travel(starts_at - timedelta(minutes=5), tick=False):
        ticket_checkin(
            session=session, calendar=calendar, code=booking.code, device_id=kiosk.id or 0
        )
    ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking.id)).one()
    with time_machine.travel(starts_at, tick=False):
        ticket_call_next(session=session, calendar=calendar, staff=ivanova)
        ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0)
        ticket_transfer(
            session=session,
            staff=ivanova,
            ticket_id=ticket.id or 0,
            to_staff_id=smirnov.id or 0,
            reason="Вопрос о выкупе участка",
        )
    return ticket


def _notices(session: Session, ticket: Ticket) -> list[OutgoingMessage]:
    return list(
        session.exec(
            select(OutgoingMessage).where(
                OutgoingMessage.ticket_id == ticket.id,
                OutgoingMessage.kind == MessageKind.ROOM_CHANGE.value,
            )
        ).all()
    )


def test_transfer_notice_goes_by_both_channels(session: Session, calendar: WorkCalendar) -> None:
    ticket = _transferred_ticket(session, calendar, channel="email", second_channel="sms")
    notices = _notices(session, ticket)
    assert sorted(n.channel for n in notices) == ["email", "sms"]
    # The same notice by both: where the visit goes on.
    assert all(f"талону {ticket.number} продолжится" in n.body for n in notices)
    recipients = {n.channel: n.recipient for n in notices}
    assert recipients["email"] == "ivan@example.ru" and recipients["sms"].startswith("+7913")


def test_without_a_second_channel_one_notice(session: Session, calendar: WorkCalendar) -> None:
    ticket = _transferred_ticket(session, calendar, channel="sms", second_channel=None)
    assert [n.channel for n in _notices(session, ticket)] == ["sms"]
