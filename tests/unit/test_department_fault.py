"""§35.5: "ошибка департамента": a short reason, the apology prompted by name, history and reports."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_booking, make_client, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.errors import InvalidInput
from visits.models import HistoryEntry, HistoryKind, Ticket
from visits.queries.reports import ReportFilter, report_build, report_scope_for
from visits.queries.today import today_board
from visits.services.department_fault import ticket_department_fault
from visits.services.queue import ticket_call_next, ticket_start


@pytest.fixture
def open_calendar(office_config: OfficeConfig) -> WorkCalendar:
    return WorkCalendar(office_config, always_open=True)


def _in_service(session: Session, calendar: WorkCalendar) -> Ticket:
    at = calendar.at(calendar.today(), time(10, 0))
    client = make_client(session, first_name="Любовь", patronymic="Ивановна", surname="Козлова")
    booking = make_booking(session, calendar, starts_at=at, client=client)
    ticket = make_ticket(session, booking, checked_in_at=at - timedelta(minutes=5))
    ivanova = staff_by_login(session, "ivanova")
    ticket_call_next(session=session, calendar=calendar, staff=ivanova, now=at)
    ticket_start(session=session, staff=ivanova, ticket_id=ticket.id or 0, now=at)
    session.refresh(ticket)
    return ticket


REASON = "письмо о продлении аренды не отправили в срок"


def test_the_mark_prompts_the_apology_by_name_and_is_in_the_history(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _in_service(session, open_calendar)
    ivanova = staff_by_login(session, "ivanova")
    ticket_department_fault(session=session, staff=ivanova, ticket_id=ticket.id or 0, reason=REASON)
    board = today_board(session, open_calendar, ivanova)
    assert board.fault_apology == (
        f"Ошибка департамента: {REASON}. Извинитесь перед Любовью Ивановной: "
        "«Любовь Ивановна, я приношу Вам извинения за ошибку департамента» "
        "и скажите, что и когда будет сделано."
    )
    (entry,) = session.exec(
        select(HistoryEntry).where(HistoryEntry.kind == HistoryKind.DEPARTMENT_FAULT.value)
    ).all()
    assert entry.staff_id == ivanova.id and entry.ticket_id == ticket.id
    assert "Мария Петровна Иванова отметила ошибку департамента" in entry.summary
    assert REASON in entry.summary and "извинения" in entry.summary


def test_a_reason_is_required(session: Session, open_calendar: WorkCalendar) -> None:
    ticket = _in_service(session, open_calendar)
    with pytest.raises(InvalidInput) as refused:
        ticket_department_fault(
            session=session,
            staff=staff_by_login(session, "ivanova"),
            ticket_id=ticket.id or 0,
            reason="  ",
        )
    assert refused.value.field == "reason"
    session.refresh(ticket)
    assert ticket.department_fault is None


def test_the_reports_list_the_faults_by_scope(
    session: Session, open_calendar: WorkCalendar
) -> None:
    ticket = _in_service(session, open_calendar)
    ticket_department_fault(
        session=session,
        staff=staff_by_login(session, "ivanova"),
        ticket_id=ticket.id or 0,
        reason=REASON,
    )
    today = open_calendar.today()
    filters = ReportFilter(date_from=today, date_to=today)
    admin_scope = report_scope_for(staff_by_login(session, "admin"))
    assert admin_scope is not None
    report = report_build(
        session=session, calendar=open_calendar, scope=admin_scope, filters=filters
    )
    (fault,) = report.faults
    assert fault.reason == REASON and fault.ticket_number == ticket.number
    assert fault.staff_label  # the administrator sees who
