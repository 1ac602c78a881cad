"""§4: a full visit leaves one history entry per event, in order.

Registration and booking run through the real services. The later steps are written
by tests.factories.walk_visit with history_record as their services write them
(check-in, queue terminal, meeting rooms, rating); each should be switched to its
real service once those land: ticket_checkin, ticket_call_next, ticket_start,
ticket_transfer, the meeting-room move and invite, ticket_finish, the tablet rating.
"""

from sqlmodel import Session

from tests.factories import staff_by_login, walk_visit
from visits.calendar import WorkCalendar
from visits.models import HistoryKind as K
from visits.queries.history import client_history

EXPECTED = [
    K.CLIENT_REGISTERED,
    K.BOOKING_CREATED,
    K.MESSAGE_QUEUED,
    K.MESSAGE_SENT,
    K.CHECKED_IN,
    K.TICKET_PRINTED,
    K.CALLED,
    K.SERVICE_STARTED,
    K.TRANSFERRED,
    K.MEETING_ROOM,
    K.COLLEAGUE_INVITED,
    K.SERVED,
    K.RATED,
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
    # Who acted is kept with each step: the transfer names both specialists.
    transfer = next(e for e in history.entries if e.kind == K.TRANSFERRED)
    assert "Иванова" in transfer.summary and "Смирнов" in transfer.summary
    assert transfer.actor == staff_by_login(session, "ivanova").full_name
    assert all(e.ticket_id == ticket.id for e in history.entries[4:])
