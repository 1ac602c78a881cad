"""§4: five years of history, then the purge; bookings and tickets younger stay untouched."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from tests.conftest import Database
from tests.factories import make_booking, make_client, make_ticket, staff_by_login
from visits.calendar import WorkCalendar
from visits.db import write_transaction
from visits.models import (
    AuditEntry,
    Booking,
    Client,
    HistoryEntry,
    OutgoingMessage,
    Rating,
    Ticket,
)
from visits.services.history import audit_record
from visits.services.retention import history_purge, retention_cutoff, retention_until

T0 = datetime(2026, 6, 15, 5, 0, tzinfo=UTC)
FIVE_YEARS_LATER = datetime(2031, 6, 15, 5, 0, tzinfo=UTC)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def test_cutoff_is_five_calendar_years() -> None:
    assert retention_cutoff(FIVE_YEARS_LATER) == T0
    # 29 February has no twin five years earlier: the 28th is the boundary.
    assert retention_cutoff(datetime(2032, 2, 29, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)
    assert retention_until(T0) == FIVE_YEARS_LATER


def test_entry_exactly_five_years_old_stays_a_second_older_goes(session: Session) -> None:
    with at(T0):
        client = make_client(session)
    with at(FIVE_YEARS_LATER):
        report = history_purge(session=session)
    assert report.total == 0
    assert session.get(Client, client.id) is not None
    assert session.exec(select(HistoryEntry).where(HistoryEntry.client_id == client.id)).all()

    with at(FIVE_YEARS_LATER + timedelta(seconds=1)):
        report = history_purge(session=session)
    assert report.history_entries == 1
    assert report.client_ids == [client.id]
    session.expire_all()
    assert session.get(Client, client.id) is None
    assert not session.exec(select(HistoryEntry).where(HistoryEntry.client_id == client.id)).all()


def test_dry_run_reports_and_deletes_nothing(session: Session) -> None:
    with at(T0):
        client = make_client(session)
    with at(FIVE_YEARS_LATER + timedelta(days=1)):
        report = history_purge(session=session, dry_run=True)
    assert report.dry_run
    assert (report.history_entries, report.clients) == (1, 1)
    assert any("будет удалено: 1" in line for line in report.lines())
    session.expire_all()
    assert session.get(Client, client.id) is not None
    assert len(session.exec(select(HistoryEntry).where(HistoryEntry.client_id == client.id)).all())


def test_younger_booking_and_ticket_are_never_touched(
    session: Session, calendar: WorkCalendar
) -> None:
    with at(T0):
        client = make_client(session)
    # Four years later the same client books and comes.
    with at(T0 + timedelta(days=4 * 365)):
        booking = make_booking(session, calendar, client=client)
        ticket = make_ticket(session, booking)
    with at(FIVE_YEARS_LATER + timedelta(days=30)):
        report = history_purge(session=session)
    # The registration entry went; the booking, ticket, their entries and the client stay.
    assert report.history_entries == 1
    assert report.client_ids == []
    session.expire_all()
    assert session.get(Client, client.id) is not None
    assert session.get(Booking, booking.id) is not None
    assert session.get(Ticket, ticket.id) is not None
    kinds = [
        e.kind
        for e in session.exec(select(HistoryEntry).where(HistoryEntry.client_id == client.id))
    ]
    assert "client_registered" not in kinds and "booking_created" in kinds


def test_old_client_goes_with_bookings_tickets_ratings_and_messages(
    session: Session, calendar: WorkCalendar
) -> None:
    with at(T0):
        old = make_client(session)
        booking = make_booking(session, calendar, client=old)
        ticket = make_ticket(session, booking)
        with write_transaction(session):
            session.add(
                Rating(
                    ticket_id=ticket.id,
                    score=5,
                    source="tablet",
                    staff_id=booking.staff_id,
                    service_id=booking.service_id,
                    room_id=booking.room_id,
                )
            )
            audit_record(
                session,
                staff=staff_by_login(session, "admin"),
                action="history.view",
                client_id=old.id,
                ticket_id=ticket.id,
            )
        kept = make_client(session, surname="Иванов")
        kept_booking = make_booking(session, calendar, client=kept, staff_login="smirnov")
    # The kept client came again a year ago.
    with at(FIVE_YEARS_LATER + timedelta(days=10)):
        newer_booking = make_booking(session, calendar, client=kept)
    with at(FIVE_YEARS_LATER + timedelta(days=400)):
        report = history_purge(session=session)
    assert report.client_ids == [old.id]
    assert (report.bookings, report.tickets) == (1, 1)
    session.expire_all()
    assert session.get(Client, old.id) is None
    assert session.get(Booking, booking.id) is None
    assert session.get(Ticket, ticket.id) is None
    assert not session.exec(select(Rating).where(Rating.ticket_id == ticket.id)).all()
    assert not session.exec(
        select(OutgoingMessage).where(OutgoingMessage.client_id == old.id)
    ).all()
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "history.view")).all()
    assert [(a.client_id, a.ticket_id) for a in audit] == [(None, None)]
    # The other client keeps the record and both bookings (the old one too).
    assert session.get(Client, kept.id) is not None
    assert session.get(Booking, kept_booking.id) is not None
    assert session.get(Booking, newer_booking.id) is not None


def test_purge_command_dry_run(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from visits.db import make_sessionmaker
    from visits.web.cli import main

    with at(T0), make_sessionmaker(fresh_db.engine)() as session:
        client = make_client(session)
    monkeypatch.setenv("DATABASE_URL", fresh_db.url)
    caplog.set_level("INFO")
    with at(FIVE_YEARS_LATER + timedelta(days=1)):
        assert main(["purge", "--dry-run"]) == 0
    assert "Событий истории будет удалено: 1" in caplog.text
    assert "Клиентов будет удалено (все их данные старше пяти лет): 1" in caplog.text
    with make_sessionmaker(fresh_db.engine)() as session:
        assert session.get(Client, client.id) is not None
