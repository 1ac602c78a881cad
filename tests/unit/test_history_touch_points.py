"""§4: every touch point of a visit reaches the client's history, with who acted.

Each event kind is driven through the real services (booking, reminder, cancel,
check-in, call, no-show, transfer, meeting room, service, rating, messages); a
service that stops writing its entry fails here.
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
    walk_visit,
)
from visits.calendar import WorkCalendar
from visits.models import DeviceKind, HistoryEntry, HistoryKind, MessageKind, Ticket
from visits.notify.sender import outbox_send_due
from visits.services.booking import booking_cancel
from visits.services.checkin import ticket_checkin
from visits.services.history import SYSTEM_ACTOR
from visits.services.queue import ticket_call_next, ticket_no_show


def _entries(session: Session, client_id: int) -> list[HistoryEntry]:
    return list(
        session.exec(
            select(HistoryEntry)
            .where(HistoryEntry.client_id == client_id)
            .order_by(HistoryEntry.at, HistoryEntry.id)  # type: ignore[arg-type]
        ).all()
    )


def _by_kind(entries: list[HistoryEntry], kind: HistoryKind) -> list[HistoryEntry]:
    return [e for e in entries if e.kind == kind.value]


def test_a_whole_visit_leaves_every_touch_point_with_its_actor(
    session: Session, calendar: WorkCalendar
) -> None:
    client, ticket = walk_visit(session, calendar)
    entries = _entries(session, client.id or 0)
    operator = staff_by_login(session, "operator")
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    # Who must stand in each entry: a staff member by name, a device, or the system.
    expected_staff = {
        HistoryKind.BOOKING_CREATED: operator,
        HistoryKind.TRANSFERRED: ivanova,
        HistoryKind.MEETING_ROOM: smirnov,
        HistoryKind.COLLEAGUE_INVITED: smirnov,
        HistoryKind.SERVED: smirnov,
    }
    for kind, staff in expected_staff.items():
        found = _by_kind(entries, kind)
        assert found, f"{kind} is missing from the history"
        assert all(e.staff_id == staff.id and e.actor == staff.full_name for e in found), kind
    called = _by_kind(entries, HistoryKind.CALLED)
    assert {e.staff_id for e in called} == {ivanova.id, smirnov.id}  # before and after transfer
    assert {e.staff_id for e in _by_kind(entries, HistoryKind.SERVICE_STARTED)} == {
        ivanova.id,
        smirnov.id,
    }
    # The kiosk checks in and prints: the device is the actor, never an empty name.
    for kind in (HistoryKind.CHECKED_IN, HistoryKind.TICKET_PRINTED):
        found = _by_kind(entries, kind)
        assert found and all(e.actor and e.staff_id is None for e in found), kind
    # Messages (confirmation sent, the final message queued) are the system's.
    for kind in (HistoryKind.MESSAGE_QUEUED, HistoryKind.MESSAGE_SENT):
        found = _by_kind(entries, kind)
        assert found and all(e.actor for e in found), kind
    assert any(e.data.get("kind") == MessageKind.CONFIRMATION.value for e in entries)
    rated = _by_kind(entries, HistoryKind.RATED)
    assert len(rated) == 1 and rated[0].ticket_id == ticket.id and rated[0].actor
    assert all(e.actor for e in entries), [e.kind for e in entries if not e.actor]


def test_reminder_cancel_and_their_messages_are_in_the_history(
    session: Session, calendar: WorkCalendar
) -> None:
    starts_at = next_working_moment(calendar, days_ahead=3)
    client = make_client(session)
    booking = make_booking(
        session,
        calendar,
        client=client,
        starts_at=starts_at,
        remind_day_before=True,
        now=starts_at - timedelta(days=5),
    )
    # The day before: the reminder goes out by the system.
    with time_machine.travel(starts_at - timedelta(days=1), tick=False):
        outbox_send_due(session=session, config=calendar.config)
    sent = [
        e
        for e in _by_kind(_entries(session, client.id or 0), HistoryKind.MESSAGE_SENT)
        if e.data.get("kind") == MessageKind.REMINDER_DAY.value
    ]
    assert sent and sent[0].actor == SYSTEM_ACTOR
    operator = staff_by_login(session, "operator")
    with time_machine.travel(starts_at - timedelta(hours=20), tick=False):
        booking_cancel(
            session=session,
            calendar=calendar,
            booking_id=booking.id or 0,
            staff=operator,
            reason="Клиент попросил по телефону",
        )
    entries = _entries(session, client.id or 0)
    cancelled = _by_kind(entries, HistoryKind.BOOKING_CANCELLED)
    assert len(cancelled) == 1 and cancelled[0].staff_id == operator.id
    assert cancelled[0].actor == operator.full_name
    assert any(
        e.data.get("kind") == MessageKind.CANCELLATION.value
        for e in _by_kind(entries, HistoryKind.MESSAGE_QUEUED)
    )


def test_no_show_is_in_the_history_with_the_specialist(
    session: Session, calendar: WorkCalendar
) -> None:
    starts_at = next_working_moment(calendar)
    client = make_client(session)
    booking = make_booking(session, calendar, client=client, starts_at=starts_at)
    kiosk, _token = make_device(session, DeviceKind.KIOSK)
    ivanova = staff_by_login(session, "ivanova")
    with time_machine.travel(starts_at - timedelta(minutes=10), tick=False):
        ticket_checkin(
            session=session, calendar=calendar, code=booking.code, device_id=kiosk.id or 0
        )
    with time_machine.travel(starts_at, tick=False):
        ticket_call_next(session=session, calendar=calendar, staff=ivanova)
    ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking.id)).one()
    with time_machine.travel(starts_at + timedelta(minutes=6), tick=False):
        ticket_no_show(session=session, staff=ivanova, ticket_id=ticket.id or 0)
    entries = _entries(session, client.id or 0)
    no_show = _by_kind(entries, HistoryKind.NO_SHOW)
    assert len(no_show) == 1
    assert no_show[0].staff_id == ivanova.id and no_show[0].actor == ivanova.full_name
    assert no_show[0].ticket_id == ticket.id
    for kind in (HistoryKind.BOOKING_CREATED, HistoryKind.CHECKED_IN, HistoryKind.CALLED):
        assert _by_kind(entries, kind), kind
