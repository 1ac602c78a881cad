"""Five-year retention of the interaction history (§4) and the personal data behind it.

What goes when `history_purge` runs (daily, and by hand as `priyom purge --dry-run`):

- history entries, outgoing messages, phone-call tasks, staff notes and calls to the
  consultation line (with their hand-overs and call-backs) older than five years (older means strictly before the same calendar moment five years ago;
  an entry exactly five years old stays until the next run);
- a client record, with its bookings and tickets, only when nothing of that client
  is younger than five years: no history entry, booking (made or booked for),
  ticket, message, call task or note. Its audit rows lose the link to it.

Bookings and tickets younger than five years are never touched, and neither are the
older bookings and tickets of a client who is still kept (reports and the
history's references stay whole).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, update
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.models import (
    AuditEntry,
    Booking,
    Call,
    CallBack,
    CallBooking,
    CallHandover,
    CallTask,
    Client,
    ClientNote,
    ColleagueInvite,
    HistoryEntry,
    OutgoingMessage,
    PrintJob,
    Rating,
    RatingPrompt,
    RoomReservation,
    SlotHold,
    Ticket,
)

# The rule itself (§4, five years) lives in visits.rules, read by queries too;
# retention_until stays importable from here for the callers of the purge.
from visits.rules import RETENTION_YEARS, shift_years
from visits.rules import retention_until as retention_until

log = logging.getLogger(__name__)

_CHUNK = 500


def retention_cutoff(now: datetime) -> datetime:
    """The moment five calendar years before `now`: anything strictly older is purged (§4)."""
    return shift_years(now, -RETENTION_YEARS)


@dataclass
class PurgeReport:
    """What a purge removed (or, with dry_run, would remove)."""

    cutoff: datetime
    dry_run: bool
    history_entries: int = 0
    messages: int = 0
    call_tasks: int = 0
    notes: int = 0
    calls: int = 0
    bookings: int = 0
    tickets: int = 0
    client_ids: list[int] = field(default_factory=list)

    @property
    def clients(self) -> int:
        return len(self.client_ids)

    @property
    def total(self) -> int:
        return (
            self.history_entries
            + self.messages
            + self.call_tasks
            + self.notes
            + self.calls
            + self.bookings
            + self.tickets
            + self.clients
        )

    def lines(self) -> list[str]:
        """The report in Russian, one line per kind of record."""
        verb = "будет удалено" if self.dry_run else "удалено"
        return [
            f"Граница хранения: всё раньше {self.cutoff:%d.%m.%Y %H:%M:%S} UTC (пять лет, §4).",
            f"Событий истории {verb}: {self.history_entries}",
            f"Сообщений {verb}: {self.messages}",
            f"Задач позвонить {verb}: {self.call_tasks}",
            f"Звонков на консультационную линию {verb}: {self.calls}",
            f"Заметок {verb}: {self.notes}",
            f"Клиентов {verb} (все их данные старше пяти лет): {self.clients}",
            f"Записей на приём {verb}: {self.bookings}",
            f"Талонов {verb}: {self.tickets}",
        ]


def _ids(session: Session, stmt: Any) -> list[int]:
    return [int(row) for row in session.exec(stmt).all() if row is not None]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _delete(session: Session, model: Any, column: Any, ids: Sequence[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(delete(model).where(col(column).in_(chunk)))


def _null(session: Session, model: Any, column: Any, ids: Sequence[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(update(model).where(col(column).in_(chunk)).values({column.key: None}))


def _clients_with_recent(session: Session, cutoff: datetime) -> set[int]:
    """Clients who still have anything younger than five years."""
    recent: set[int] = set()
    checks: list[tuple[Any, ColumnElement[bool]]] = [
        (HistoryEntry.client_id, col(HistoryEntry.at) >= cutoff),
        (Booking.client_id, col(Booking.created_at) >= cutoff),
        (Booking.client_id, col(Booking.starts_at) >= cutoff),
        (Ticket.client_id, col(Ticket.checked_in_at) >= cutoff),
        (OutgoingMessage.client_id, col(OutgoingMessage.created_at) >= cutoff),
        (CallTask.client_id, col(CallTask.created_at) >= cutoff),
        (ClientNote.client_id, col(ClientNote.created_at) >= cutoff),
        (Call.client_id, col(Call.opened_at) >= cutoff),
        (CallBack.client_id, col(CallBack.created_at) >= cutoff),
        (Client.id, col(Client.created_at) >= cutoff),
    ]
    for column, condition in checks:
        recent.update(_ids(session, select(column).where(condition).distinct()))
    return recent


def history_purge(
    *, session: Session, now: datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Remove what is older than five years (§4); with dry_run only count it."""
    cutoff = retention_cutoff(now or utcnow())
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    if dry_run:
        _plan(session, cutoff, report, apply=False)
        session.rollback()
    else:
        with write_transaction(session):
            _plan(session, cutoff, report, apply=True)
    log.info(
        "retention %s: cutoff %s, entries=%s messages=%s clients=%s bookings=%s tickets=%s",
        "dry run" if dry_run else "purge",
        cutoff.isoformat(),
        report.history_entries,
        report.messages,
        report.clients,
        report.bookings,
        report.tickets,
    )
    return report


def _plan(session: Session, cutoff: datetime, report: PurgeReport, *, apply: bool) -> None:
    """Count what the purge removes into the report; with apply, remove it."""
    # Whole clients first: a client with nothing younger than five years goes entirely.
    gone = _gone_count(session, cutoff, report)
    # Then the old rows of every client (the gone clients' rows included).
    old = _old_count(session, cutoff, report)
    if not apply:
        return
    _old_delete(session, old)
    if gone.clients:
        _gone_delete(session, gone)


@dataclass(frozen=True)
class _Gone:
    """The clients with nothing younger than five years, and their bookings and tickets."""

    clients: list[int]
    bookings: list[int]
    tickets: list[int]


@dataclass(frozen=True)
class _Old:
    """The rows of any client older than five years."""

    entries: list[int]
    messages: list[int]
    tasks: list[int]
    notes: list[int]
    calls: list[int]


def _gone_count(session: Session, cutoff: datetime, report: PurgeReport) -> _Gone:
    """Find the clients who go entirely, with their bookings and tickets; count them."""
    recent = _clients_with_recent(session, cutoff)
    all_clients = _ids(session, select(Client.id))
    gone = sorted(set(all_clients) - recent)
    report.client_ids = gone
    bookings = [
        i
        for chunk in _chunks(gone)
        for i in _ids(session, select(Booking.id).where(col(Booking.client_id).in_(chunk)))
    ]
    tickets = [
        i
        for chunk in _chunks(gone)
        for i in _ids(session, select(Ticket.id).where(col(Ticket.client_id).in_(chunk)))
    ]
    report.bookings, report.tickets = len(bookings), len(tickets)
    return _Gone(clients=gone, bookings=bookings, tickets=tickets)


def _old_count(session: Session, cutoff: datetime, report: PurgeReport) -> _Old:
    """Find the history entries, messages, call tasks and notes before the cutoff; count them."""
    old = _Old(
        entries=_ids(session, select(HistoryEntry.id).where(col(HistoryEntry.at) < cutoff)),
        messages=_ids(
            session, select(OutgoingMessage.id).where(col(OutgoingMessage.created_at) < cutoff)
        ),
        tasks=_ids(session, select(CallTask.id).where(col(CallTask.created_at) < cutoff)),
        notes=_ids(session, select(ClientNote.id).where(col(ClientNote.created_at) < cutoff)),
        calls=_ids(session, select(Call.id).where(col(Call.opened_at) < cutoff)),
    )
    report.history_entries = len(old.entries)
    report.messages = len(old.messages)
    report.call_tasks = len(old.tasks)
    report.notes = len(old.notes)
    report.calls = len(old.calls)
    return old


def _old_delete(session: Session, old: _Old) -> None:
    """Delete the old rows of every client."""
    _delete(session, HistoryEntry, HistoryEntry.id, old.entries)
    _delete(session, CallTask, CallTask.id, old.tasks)
    # A younger call task about an old message keeps its text, not the link.
    _null(session, CallTask, CallTask.message_id, old.messages)
    _delete(session, OutgoingMessage, OutgoingMessage.id, old.messages)
    _delete(session, ClientNote, ClientNote.id, old.notes)
    # A call goes with its hand-overs, call-backs and links to bookings.
    for model, column in (
        (CallBooking, CallBooking.call_id),
        (CallHandover, CallHandover.call_id),
        (CallBack, CallBack.call_id),
        (Call, Call.id),
    ):
        _delete(session, model, column, old.calls)


def _gone_delete(session: Session, gone: _Gone) -> None:
    """Delete the gone clients with everything of theirs; audit rows only lose the link."""
    tickets, bookings = gone.tickets, gone.bookings
    # Everything that hangs on the gone clients' tickets and bookings, leaves first.
    invites_of_reservations = [
        i
        for chunk in _chunks(tickets)
        for i in _ids(
            session, select(RoomReservation.id).where(col(RoomReservation.ticket_id).in_(chunk))
        )
    ]
    _delete(session, ColleagueInvite, ColleagueInvite.ticket_id, tickets)
    _delete(session, ColleagueInvite, ColleagueInvite.reservation_id, invites_of_reservations)
    _delete(session, RoomReservation, RoomReservation.id, invites_of_reservations)
    _delete(session, PrintJob, PrintJob.ticket_id, tickets)
    _delete(session, Rating, Rating.ticket_id, tickets)
    _delete(session, RatingPrompt, RatingPrompt.ticket_id, tickets)
    _null(session, AuditEntry, AuditEntry.ticket_id, tickets)
    _null(session, AuditEntry, AuditEntry.client_id, gone.clients)
    for model, column in (
        (HistoryEntry, HistoryEntry.client_id),
        (CallTask, CallTask.client_id),
        (OutgoingMessage, OutgoingMessage.client_id),
        (ClientNote, ClientNote.client_id),
        (Ticket, Ticket.client_id),
    ):
        _delete(session, model, column, gone.clients)
    _delete(session, CallBooking, CallBooking.booking_id, bookings)
    _delete(session, SlotHold, SlotHold.booking_id, bookings)
    _delete(session, Booking, Booking.id, bookings)
    # A kept client merged into a gone one (only an empty record) loses the link.
    _null(session, Client, Client.merged_into_id, gone.clients)
    _delete(session, Client, Client.id, gone.clients)
