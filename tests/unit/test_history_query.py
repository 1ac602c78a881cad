"""Reading a history (§4): who may see it, the filters, the audit of every view."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import (
    make_booking,
    make_client,
    make_ticket,
    next_working_moment,
    staff_by_login,
)
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.db import write_transaction
from visits.errors import Forbidden, InvalidInput, NotFound
from visits.models import AuditEntry, ColleagueInvite, HistoryKind, MessageStatus
from visits.notify.sender import outbox_send_due
from visits.queries.history import (
    HistoryFilter,
    client_history,
    clients_visible,
    history_can_view,
)
from visits.services.booking import booking_cancel
from visits.services.history import history_record, history_view


def test_operator_and_administrator_see_every_history(
    session: Session, calendar: WorkCalendar
) -> None:
    client = make_client(session)
    for login in ("operator", "operator2", "admin"):
        assert history_can_view(session, staff=staff_by_login(session, login), client_id=client.id)


def test_specialist_sees_only_clients_booked_to_them(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    ivanova = staff_by_login(session, "ivanova")
    smirnov = staff_by_login(session, "smirnov")
    assert history_can_view(session, staff=ivanova, client_id=booking.client_id)
    assert not history_can_view(session, staff=smirnov, client_id=booking.client_id)
    with pytest.raises(Forbidden):
        history_view(session=session, calendar=calendar, staff=smirnov, client_id=booking.client_id)
    # A refused look writes no audit row claiming a view.
    assert not session.exec(select(AuditEntry).where(AuditEntry.staff_id == smirnov.id)).all()


def test_specialist_sees_clients_transferred_to_or_served_by_them(
    session: Session, calendar: WorkCalendar
) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    smirnov = staff_by_login(session, "smirnov")
    kuznetsova = staff_by_login(session, "kuznetsova")
    # After a transfer the ticket is assigned to Smirnov.
    make_ticket(session, booking, staff_id=smirnov.id)
    assert history_can_view(session, staff=smirnov, client_id=booking.client_id)
    # Kuznetsova served the client on an earlier visit (the entry names her).
    assert not history_can_view(session, staff=kuznetsova, client_id=booking.client_id)
    with write_transaction(session):
        history_record(
            session,
            client_id=booking.client_id,
            kind=HistoryKind.SERVED,
            staff=kuznetsova,
            summary="Приём завершён",
        )
    assert history_can_view(session, staff=kuznetsova, client_id=booking.client_id)


def test_invited_colleague_sees_the_client(session: Session, calendar: WorkCalendar) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    ticket = make_ticket(session, booking)
    popov = staff_by_login(session, "popov")
    assert not history_can_view(session, staff=popov, client_id=booking.client_id)
    with write_transaction(session):
        session.add(
            ColleagueInvite(
                ticket_id=ticket.id,
                room_id=booking.room_id,
                from_staff_id=booking.staff_id,
                to_staff_id=popov.id,
            )
        )
    assert history_can_view(session, staff=popov, client_id=booking.client_id)


def test_a_mere_note_or_registration_gives_no_access(
    session: Session, calendar: WorkCalendar
) -> None:
    ivanova = staff_by_login(session, "ivanova")
    client = make_client(session, staff=ivanova)
    assert not history_can_view(session, staff=ivanova, client_id=client.id)


def test_every_view_is_audited(session: Session, calendar: WorkCalendar) -> None:
    booking = make_booking(session, calendar, staff_login="ivanova")
    ivanova = staff_by_login(session, "ivanova")
    history_view(session=session, calendar=calendar, staff=ivanova, client_id=booking.client_id)
    history_view(
        session=session,
        calendar=calendar,
        staff=ivanova,
        client_id=booking.client_id,
        filter=HistoryFilter(kinds=(HistoryKind.BOOKING_CREATED.value,)),
    )
    rows = session.exec(
        select(AuditEntry).where(
            AuditEntry.client_id == booking.client_id, AuditEntry.action == "history.view"
        )
    ).all()
    assert [r.staff_id for r in rows] == [ivanova.id, ivanova.id]
    assert "booking_created" in rows[1].details


def test_the_history_query_writes_nothing(session: Session, calendar: WorkCalendar) -> None:
    """Queries never write: the audit of a view is the service's (history_view)."""
    booking = make_booking(session, calendar, staff_login="ivanova")
    ivanova = staff_by_login(session, "ivanova")
    shown = client_history(
        session=session, calendar=calendar, staff=ivanova, client_id=booking.client_id
    )
    assert shown.entries
    assert not session.new and not session.dirty
    assert not session.exec(select(AuditEntry).where(AuditEntry.action == "history.view")).all()


def test_unknown_client_is_not_found(session: Session, calendar: WorkCalendar) -> None:
    with pytest.raises(NotFound):
        client_history(
            session=session,
            calendar=calendar,
            staff=staff_by_login(session, "admin"),
            client_id=999999,
        )


def test_filters_by_kind_and_local_dates(session: Session, calendar: WorkCalendar) -> None:
    client = make_client(session)
    admin = staff_by_login(session, "admin")
    registered = client_history(
        session=session, calendar=calendar, staff=admin, client_id=client.id
    ).entries[0]
    local_day = calendar.to_local(registered.at).date()
    with write_transaction(session):
        history_record(
            session,
            client_id=client.id,
            kind=HistoryKind.NOTE_ADDED,
            summary="Заметка",
            at=registered.at + timedelta(days=3),
        )

    def kinds(**values: object) -> list[str]:
        chosen = HistoryFilter.parse(
            kinds=values.get("kinds", []),  # type: ignore[arg-type]
            date_from=values.get("date_from"),  # type: ignore[arg-type]
            date_to=values.get("date_to"),  # type: ignore[arg-type]
        )
        result = client_history(
            session=session, calendar=calendar, staff=admin, client_id=client.id, filter=chosen
        )
        assert result.total == 2
        return [e.kind for e in result.entries]

    assert kinds() == ["client_registered", "note_added"]
    assert kinds(kinds=["note_added"]) == ["note_added"]
    assert kinds(date_to=local_day.isoformat()) == ["client_registered"]
    later = (local_day + timedelta(days=1)).isoformat()
    assert kinds(date_from=later) == ["note_added"]
    assert kinds(date_from=later, kinds=["client_registered"]) == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kinds": ["no_such_kind"]}, "kind"),
        ({"date_from": "15.12.2026"}, "date_from"),
        ({"date_from": "2026-12-16", "date_to": "2026-12-15"}, "date_to"),
    ],
)
def test_bad_filter_is_refused_in_russian(values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        HistoryFilter.parse(
            kinds=values.get("kinds", []),  # type: ignore[arg-type]
            date_from=values.get("date_from"),  # type: ignore[arg-type]
            date_to=values.get("date_to"),  # type: ignore[arg-type]
        )
    assert err.value.field == field
    assert err.value.message[0].isupper()


def test_client_list_hides_clients_a_specialist_may_not_see(
    session: Session, calendar: WorkCalendar
) -> None:
    mine = make_booking(
        session, calendar, staff_login="ivanova", client=make_client(session, surname="Зайцев")
    )
    make_client(session, surname="Зайцева")
    ivanova = staff_by_login(session, "ivanova")
    found = clients_visible(session=session, staff=ivanova, query="Зайц")
    assert [c.id for c in found] == [mine.client_id]
    assert [c.id for c in clients_visible(session=session, staff=ivanova, query="")] == [
        mine.client_id
    ]
    operator = staff_by_login(session, "operator")
    assert len(clients_visible(session=session, staff=operator, query="Зайц")) == 2


def test_a_reminder_reads_as_a_reminder_with_its_time_state_and_channel(
    session: Session, calendar: WorkCalendar, office_config: OfficeConfig
) -> None:
    """§30, §4: «Напоминание за два часа», when due, sent or why not, and by which channel."""
    client = make_client(session, channel="sms")
    visit = next_working_moment(calendar, hour=14, minute=0)
    kept = make_booking(
        session, calendar, client=client, starts_at=visit, remind_two_hours_before=True
    )
    dropped = make_booking(
        session,
        calendar,
        client=client,
        starts_at=next_working_moment(calendar, days_ahead=2, hour=14, minute=0),
        remind_day_before=True,
    )
    booking_cancel(session=session, calendar=calendar, booking_id=dropped.id or 0, staff=None)
    due = visit - timedelta(hours=2)
    outbox_send_due(session=session, config=office_config, now=due + timedelta(minutes=1))
    admin = staff_by_login(session, "admin")

    h = client_history(session=session, calendar=calendar, staff=admin, client_id=client.id or 0)
    notes = [(e, h.reminders[e.id]) for e in h.entries if e.id in h.reminders]
    lines = {(n.title, n.event, e.channel) for e, n in notes}
    assert lines == {
        ("Напоминание за два часа", "запланировано", "sms"),
        ("Напоминание за два часа", "отправлено", "sms"),
        ("Напоминание за сутки", "запланировано", "sms"),
        ("Напоминание за сутки", "не отправлялось", "sms"),
    }
    for entry, note in notes:
        if note.title == "Напоминание за два часа":
            assert note.due_at == due and note.status == MessageStatus.SENT
            assert note.sent_at is not None and entry.booking_id == kept.id
        else:
            assert note.status == MessageStatus.SKIPPED and note.why_not
    # Other messages (the confirmation) keep their own words.
    confirmation = next(e for e in h.entries if e.kind == HistoryKind.MESSAGE_QUEUED.value)
    assert confirmation.id not in h.reminders
