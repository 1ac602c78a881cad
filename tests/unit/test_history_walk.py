"""§4: a full visit through the real services leaves one history entry per event, in order."""

from sqlmodel import Session

from tests.factories import staff_by_login, walk_visit
from visits.calendar import WorkCalendar
from visits.models import HistoryKind as K
from visits.queries.history import client_history

EXPECTED = [
    K.CLIENT_REGISTERED,
    K.BOOKING_CREATED,
    K.MESSAGE_QUEUED,  # confirmation (§31, §32)
    K.MESSAGE_SENT,
    K.CHECKED_IN,
    K.TICKET_PRINTED,
    K.CALLED,
    K.SERVICE_STARTED,
    K.TRANSFERRED,  # §23
    K.MESSAGE_QUEUED,  # room change
    K.CALLED,
    K.SERVICE_STARTED,
    K.MEETING_ROOM,  # §35: during the visit, no message (§35.4)
    K.COLLEAGUE_INVITED,  # §35.3
    K.SERVED,
    K.MESSAGE_QUEUED,  # final message with the survey link (§17)
    K.RATED,  # §36
]


def test_full_visit_history_in_order(session: Session, calendar: WorkCalendar) -> None:
    client, ticket = walk_visit(session, calendar)
    history = client_history(
        session=session,
        calendar=calendar,
        staff=staff_by_login(session, "operator"),
        client_id=client.id,
    )
    assert [e.kind for e in history.entries] == [k.value for k in EXPECTED]
    by_kind = {e.kind: e for e in history.entries}
    # Texts are Russian throughout (§5-6): the channel is named, not its code.
    assert "Способ связи: SMS." in by_kind[K.CLIENT_REGISTERED].summary
    # Who acted is kept with each step, as it was at the time.
    transfer = by_kind[K.TRANSFERRED]
    assert transfer.actor == staff_by_login(session, "ivanova").full_name
    assert "Алексей Викторович Смирнов, кабинет 301" in transfer.summary
    assert "в переговорную 311, 3 этаж" in by_kind[K.MEETING_ROOM].summary
    served = by_kind[K.SERVED]
    assert served.actor == staff_by_login(session, "smirnov").full_name
    assert "приём длился" in served.summary
    assert f"Талон {ticket.number}" in by_kind[K.RATED].summary
    assert all(e.ticket_id == ticket.id for e in history.entries[4:] if e.kind != K.MESSAGE_SENT)
