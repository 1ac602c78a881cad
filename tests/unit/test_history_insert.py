"""The kiosk's Core history insert writes the same entry as history_record (§4)."""

from sqlmodel import Session, col, select

from tests.factories import make_client
from visits.calendar import utcnow
from visits.db import write_transaction
from visits.models import HistoryEntry, HistoryKind
from visits.services.history import history_insert, history_record


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
