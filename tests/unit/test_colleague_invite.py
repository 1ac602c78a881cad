"""§35.3: inviting a colleague is its own action, and the list starts with those who know the subject."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_ticket, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.errors import Conflict, Forbidden
from visits.models import ColleagueInvite, Ticket
from visits.queries.today import colleagues, invites_for
from visits.services.meeting_rooms import colleague_invite
from visits.services.queue import ticket_call_next, ticket_start


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def _in_service(session: Session, calendar: WorkCalendar, service_code: str) -> Ticket:
    at = calendar.at(calendar.today(), time(10, 0))
    booking = make_booking(session, calendar, starts_at=at, service_code=service_code)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    ivanova = staff_by_login(session, "ivanova")
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=at)
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0, now=at)
    session.refresh(ticket)
    return ticket


def test_a_colleague_is_invited_into_the_room_without_a_meeting_room(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _in_service(session, open_calendar, "land-lease")
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    invite = colleague_invite(
        session=session,
        staff=ivanova,
        ticket_id=ticket.id or 0,
        to_staff_id=smirnov.id or 0,
        message="Вопрос о выкупе",
    )
    assert invite.reservation_id is None and invite.room_id == ivanova.room_id
    (notice,) = invites_for(session, smirnov)
    assert notice.room.number == "305" and notice.ticket_number == ticket.number


def test_only_the_specialist_of_an_active_visit_invites(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _in_service(session, open_calendar, "land-lease")
    smirnov, popov = staff_by_login(session, "smirnov"), staff_by_login(session, "popov")
    with pytest.raises(Forbidden):
        colleague_invite(
            session=session, staff=smirnov, ticket_id=ticket.id or 0, to_staff_id=popov.id or 0
        )
    ticket.status = "done"  # type: ignore[assignment]
    session.add(ticket)
    session.commit()
    with pytest.raises(Conflict):
        colleague_invite(
            session=session,
            staff=staff_by_login(session, "ivanova"),
            ticket_id=ticket.id or 0,
            to_staff_id=popov.id or 0,
        )
    assert session.exec(select(ColleagueInvite)).all() == []


def test_the_list_puts_the_services_colleagues_first_then_the_unit(session: Session) -> None:
    ivanova = staff_by_login(session, "ivanova")  # Отдел аренды земли
    payments = service_by_code(session, "payments")
    groups = colleagues(session, ivanova, service_id=payments.id or 0)
    assert [g.label for g in groups] == [
        "Ведут этот вопрос",
        "Ваш отдел: Отдел аренды земли",
        "Другие сотрудники",
    ]
    # Payments are handled by Kuznetsova (her own unit) and Fedorov (cadastre).
    assert [s.login for s in groups[0].staff] == ["kuznetsova", "fedorov"]
    assert [s.login for s in groups[1].staff] == ["smirnov"]
    assert "ivanova" not in {s.login for g in groups for s in g.staff}
    assert "popov" in {s.login for s in groups[2].staff}
