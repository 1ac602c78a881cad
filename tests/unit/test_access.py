"""The access rule for a client's card (§4): own bookings and tickets, transfers, invitations."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.errors import Forbidden, NotFound
from visits.models import AuditEntry, ColleagueInvite, Room
from visits.services.access import REFUSED_ACTION, booking_card_require


def _refusals(session: Session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == REFUSED_ACTION)).all())


def test_a_specialist_sees_her_own_bookings_card_and_not_a_colleagues(
    session: Session, calendar: WorkCalendar
) -> None:
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    hers = make_booking(session, calendar, staff_login="ivanova")
    his = make_booking(session, calendar, staff_login="smirnov")
    assert booking_card_require(session=session, staff=ivanova, booking_id=hers.id or 0) == hers
    assert booking_card_require(session=session, staff=smirnov, booking_id=his.id or 0) == his
    with pytest.raises(Forbidden):
        booking_card_require(session=session, staff=ivanova, booking_id=his.id or 0)
    refused = _refusals(session)
    assert [(r.staff_id, r.client_id) for r in refused] == [(ivanova.id, his.client_id)]
    assert f"записи {his.id}" in refused[0].details


def test_a_ticket_transferred_to_her_or_an_invitation_opens_the_card(
    session: Session, calendar: WorkCalendar
) -> None:
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    kuznetsova = staff_by_login(session, "kuznetsova")
    booking = make_booking(session, calendar, staff_login="smirnov")
    ticket = make_ticket(session, booking, staff_id=kuznetsova.id)  # transferred to her
    assert booking_card_require(session=session, staff=kuznetsova, booking_id=booking.id or 0)
    with pytest.raises(Forbidden):
        booking_card_require(session=session, staff=ivanova, booking_id=booking.id or 0)
    room = session.exec(select(Room).where(Room.number == "311")).one()
    session.add(
        ColleagueInvite(
            ticket_id=ticket.id or 0,
            room_id=room.id or 0,
            from_staff_id=smirnov.id or 0,
            to_staff_id=ivanova.id or 0,
        )
    )
    session.commit()
    assert booking_card_require(session=session, staff=ivanova, booking_id=booking.id or 0)


def test_operators_and_administrators_see_every_card(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, staff_login="smirnov")
    for login in ("operator", "admin"):
        staff = staff_by_login(session, login)
        assert booking_card_require(session=session, staff=staff, booking_id=booking.id or 0)
    with pytest.raises(NotFound):
        booking_card_require(
            session=session, staff=staff_by_login(session, "admin"), booking_id=10**9
        )
    assert _refusals(session) == []
