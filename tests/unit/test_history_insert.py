"""The kiosk's Core history insert writes the same entry as history_record (§4)."""

from sqlmodel import Session, col, select

from tests.factories import make_booking, make_client, make_ticket, staff_by_login
from visits.calendar import WorkCalendar, utcnow
from visits.db import write_transaction
from visits.models import AuditEntry, HistoryEntry, HistoryKind
from visits.services.history import (
    audit_record,
    history_insert,
    history_record,
    ticket_event_record,
)


def test_the_core_insert_and_the_orm_record_write_the_same_entry(session: Session) -> None:
    client = make_client(session)
    at = utcnow().replace(microsecond=0)
    words = {
        "client_id": client.id or 0,
        "kind": HistoryKind.TICKET_PRINTED,
        "summary": "Талон А-001 напечатан",
        "actor": "Терминал в холле",
        "at": at,
        "data": {"number": "А-001"},
    }
    with write_transaction(session):
        history_record(session, **words)  # type: ignore[arg-type]
        history_insert(session, **words)  # type: ignore[arg-type]
    rows = session.exec(select(HistoryEntry).order_by(col(HistoryEntry.id))).all()
    seen = [
        (r.client_id, r.kind, r.summary, r.actor, r.staff_id, r.channel, r.data, r.at)
        for r in rows[-2:]
    ]
    assert seen[0] == seen[1]
    assert seen[1][1:5] == ("ticket_printed", "Талон А-001 напечатан", "Терминал в холле", None)


def test_a_ticket_event_writes_the_entries_the_orm_records_would(
    session: Session, calendar: WorkCalendar
) -> None:
    """Calls, starts and finishes write their history and audit rows by Core statements."""
    ticket = make_ticket(session, make_booking(session, calendar))
    staff = staff_by_login(session, "ivanova")
    summary = "Талон А-001 вызван: кабинет 305."
    with write_transaction(session):
        history_record(
            session,
            client_id=ticket.client_id,
            kind=HistoryKind.CALLED,
            staff=staff,
            booking_id=ticket.booking_id,
            ticket_id=ticket.id,
            summary=summary,
            data={"late_start_minutes": 3},
        )
        audit_record(
            session,
            staff=staff,
            action="ticket.call",
            client_id=ticket.client_id,
            ticket_id=ticket.id,
            details=summary,
        )
    with write_transaction(session):
        ticket_event_record(
            session,
            ticket=ticket,
            staff=staff,
            kind=HistoryKind.CALLED,
            summary=summary,
            action="ticket.call",
            data={"late_start_minutes": 3},
        )
    entries = session.exec(select(HistoryEntry).order_by(col(HistoryEntry.id))).all()[-2:]
    audits = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()[-2:]
    assert len({e.model_dump_json(exclude={"id", "at"}) for e in entries}) == 1
    assert len({a.model_dump_json(exclude={"id", "at"}) for a in audits}) == 1
    assert entries[1].actor == staff.full_name and entries[1].staff_id == staff.id
    assert audits[1].at is not None and entries[1].at is not None
