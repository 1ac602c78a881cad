"""Reading a client's interaction history (§4, §34.4), with the access rule and the audit.

Access rule (§4: only staff roles see histories):
- an administrator sees every client's history;
- a phone operator too: the consultation line books and cancels for any caller
  (§28, §32) and takes the client's requests about their data;
- a specialist sees the clients booked to them (any booking, also a cancelled one)
  and the clients they served: a ticket called by them or assigned to them (also
  after a transfer to them), a history entry of a call, service, transfer or
  meeting room they acted in, or an invitation into the conversation (§35.3); and a
  specialist a call of the client's was handed over to, or whose call-back it is (§23-24).
Every view of a history and every export is written to the audit log (who, when,
which client): that write is the service visits.services.history.history_view,
which reads through client_history() here. Queries never write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar
from visits.errors import Forbidden, InvalidInput, NotFound
from visits.models import (
    CHANNEL_LABELS,
    HISTORY_LABELS,
    Booking,
    Call,
    CallBack,
    CallHandover,
    Channel,
    Client,
    ColleagueInvite,
    HistoryEntry,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    Role,
    Staff,
    Ticket,
)
from visits.queries.clients import client_search
from visits.rules import retention_until

NO_ACCESS = (
    "История этого клиента доступна специалистам, к которым он записан или которые его "
    "принимали, а также операторам и администраторам."
)

# History kinds in which a specialist acted on the visit themselves.
_SERVING_KINDS = (
    HistoryKind.CALLED,
    HistoryKind.RECALLED,
    HistoryKind.SERVICE_STARTED,
    HistoryKind.SERVED,
    HistoryKind.TRANSFERRED,
    HistoryKind.MEETING_ROOM,
    HistoryKind.COLLEAGUE_INVITED,
    HistoryKind.NO_SHOW,
)


def sees_all_histories(staff: Staff) -> bool:
    """Administrators and phone operators see every history (rule above)."""
    return staff.has_role(Role.ADMINISTRATOR) or staff.has_role(Role.OPERATOR)


def history_can_view(session: Session, *, staff: Staff, client_id: int) -> bool:
    """Tell whether this staff member may see this client's history (§4)."""
    if sees_all_histories(staff):
        return True
    if not staff.has_role(Role.SPECIALIST) or staff.id is None:
        return False
    me = staff.id
    checks: tuple[Any, ...] = (
        select(Booking.id).where(col(Booking.client_id) == client_id, col(Booking.staff_id) == me),
        select(Ticket.id).where(
            col(Ticket.client_id) == client_id,
            or_(col(Ticket.staff_id) == me, col(Ticket.called_by_staff_id) == me),
        ),
        select(HistoryEntry.id).where(
            col(HistoryEntry.client_id) == client_id,
            col(HistoryEntry.staff_id) == me,
            col(HistoryEntry.kind).in_([k.value for k in _SERVING_KINDS]),
        ),
        select(ColleagueInvite.id)
        .join(Ticket, col(Ticket.id) == col(ColleagueInvite.ticket_id))
        .where(col(ColleagueInvite.to_staff_id) == me, col(Ticket.client_id) == client_id),
        # A call of the client's handed over to them (§23), or a call-back theirs (§24).
        select(CallHandover.id)
        .join(Call, col(Call.id) == col(CallHandover.call_id))
        .where(col(CallHandover.to_staff_id) == me, col(Call.client_id) == client_id),
        select(CallBack.id).where(
            col(CallBack.client_id) == client_id, col(CallBack.staff_id) == me
        ),
    )
    return any(session.exec(check.limit(1)).first() is not None for check in checks)


def history_require_access(session: Session, *, staff: Staff, client_id: int) -> Client:
    """Return the client, or raise NotFound / Forbidden under the access rule."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("Клиент не найден.")
    if not history_can_view(session, staff=staff, client_id=client_id):
        raise Forbidden(NO_ACCESS, code="history_forbidden")
    return client


@dataclass(frozen=True)
class HistoryFilter:
    """Kinds and a date range in the office's days (both ends included)."""

    kinds: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(
        cls, *, kinds: Sequence[str], date_from: str | None, date_to: str | None
    ) -> HistoryFilter:
        """Build a filter from form values; raise InvalidInput on a bad kind or date."""
        valid = {k.value for k in HistoryKind}
        chosen = tuple(k for k in kinds if k)
        if any(k not in valid for k in chosen):
            raise InvalidInput("Такого вида событий нет. Выберите из списка.", field="kind")
        start, end = _date(date_from, "date_from"), _date(date_to, "date_to")
        if start and end and start > end:
            raise InvalidInput("Начало периода позже его конца. Проверьте даты.", field="date_to")
        return cls(kinds=chosen, date_from=start, date_to=end)

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.date_from or self.date_to)

    def describe(self) -> str:
        parts = []
        if self.kinds:
            parts.append("виды: " + ", ".join(self.kinds))
        if self.date_from:
            parts.append(f"с {self.date_from:%d.%m.%Y}")
        if self.date_to:
            parts.append(f"по {self.date_to:%d.%m.%Y}")
        return "; ".join(parts) or "вся история"


# The history's dates a filter may name: the system's first year to far beyond §4's five.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def _date(raw: str | None, field_name: str) -> date | None:
    value = (raw or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Дата должна быть вида 2026-12-15.", field=field_name) from None
    # Far dates (0001-01-01, 9999-12-31) overflow the conversion to the office's time zone.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput(
            f"Укажите дату с {EARLIEST_DAY:%d.%m.%Y} по {LATEST_DAY:%d.%m.%Y}.", field=field_name
        )
    return day


# §30: what a reminder is called in the history, by its kind.
REMINDER_TITLES = {
    MessageKind.REMINDER_DAY.value: "Напоминание за сутки",
    MessageKind.REMINDER_TWO_HOURS.value: "Напоминание за два часа",
}


@dataclass(frozen=True)
class ReminderNote:
    """A reminder's entry as a person reads it: which one, when due, sent or why not, how.

    The entry's own `at` is when it was scheduled (with the booking) or what happened to it;
    the note adds the reminder's state now, read from its outbox row.
    """

    title: str  # «Напоминание за сутки»
    event: str  # «запланировано», «отправлено», «не отправлено», «не отправлялось»
    channel: str | None
    due_at: datetime
    status: MessageStatus
    sent_at: datetime | None
    why_not: str  # the skip reason or the last error, "" when sent or still waiting
    # «Срок: 02.12.2026 12:00. Отправлено 02.12.2026 12:01 (SMS).»: reminder_state.
    state: str

    @property
    def heading(self) -> str:
        """«Напоминание за сутки: запланировано»: what the screen and the exports call the entry."""
        return f"{self.title}: {self.event}"


def reminder_state(
    *,
    calendar: WorkCalendar,
    due_at: datetime,
    status: MessageStatus,
    sent_at: datetime | None,
    why_not: str,
    channel: str | None,
) -> str:
    """§30: when the reminder is due and what became of it: sent, why not, or still waiting.

    The one wording of a reminder's state: the client card and every history export read it.
    """

    def local(moment: datetime) -> str:
        return calendar.to_local(moment).strftime("%d.%m.%Y %H:%M")

    how = f" ({CHANNEL_LABELS[Channel(channel)]})" if channel in _CHANNELS else ""
    if status == MessageStatus.SENT and sent_at is not None:
        what = f"Отправлено {local(sent_at)}{how}."
    elif why_not:
        what = f"Не отправлено: {why_not}" + ("" if why_not.endswith(".") else ".")
    else:
        what = f"Ещё не отправлено: уйдёт в срок{how}."
    return f"Срок: {local(due_at)}. {what}"


_CHANNELS = {c.value for c in Channel}


_REMINDER_EVENTS = {
    HistoryKind.MESSAGE_QUEUED.value: "запланировано",
    HistoryKind.MESSAGE_SENT.value: "отправлено",
    HistoryKind.MESSAGE_FAILED.value: "не отправлено",
    HistoryKind.MESSAGE_SKIPPED.value: "не отправлялось",
}


def history_reminder_notes(
    session: Session, entries: Sequence[HistoryEntry], *, calendar: WorkCalendar
) -> dict[int, ReminderNote]:
    """Notes for the reminder entries among `entries` (§30), by entry id."""
    reminders = [
        e
        for e in entries
        if e.kind in _REMINDER_EVENTS and (e.data or {}).get("kind") in REMINDER_TITLES
    ]
    if not reminders:
        return {}
    bookings = {e.booking_id for e in reminders if e.booking_id is not None}
    rows = list(
        session.exec(
            select(OutgoingMessage)
            .where(
                col(OutgoingMessage.booking_id).in_(bookings),
                col(OutgoingMessage.kind).in_(list(REMINDER_TITLES)),
            )
            .order_by(col(OutgoingMessage.id))
        ).all()
    )
    by_id = {row.id: row for row in rows}
    notes = {}
    for entry in reminders:
        row = by_id.get((entry.data or {}).get("message_id")) or _reminder_row_of(entry, rows)
        if row is None or entry.id is None:
            continue
        notes[entry.id] = ReminderNote(
            title=REMINDER_TITLES[row.kind],
            event=_REMINDER_EVENTS[entry.kind],
            channel=row.channel,
            due_at=row.due_at,
            status=row.status,
            sent_at=row.sent_at,
            why_not=row.skip_reason or row.error,
            state=reminder_state(
                calendar=calendar,
                due_at=row.due_at,
                status=MessageStatus(row.status),
                sent_at=row.sent_at,
                why_not=row.skip_reason or row.error,
                channel=row.channel,
            ),
        )
    return notes


def _reminder_row_of(
    entry: HistoryEntry, rows: Sequence[OutgoingMessage]
) -> OutgoingMessage | None:
    """An older entry without the message's id: its booking's row of that kind and channel,
    the one created last before the entry."""
    same = [
        r
        for r in rows
        if r.booking_id == entry.booking_id
        and r.kind == entry.data.get("kind")
        and r.channel == entry.channel
    ]
    before = [r for r in same if r.created_at <= entry.at + timedelta(seconds=1)]
    return (before or same)[-1] if same else None


@dataclass
class ClientHistory:
    client: Client
    entries: list[HistoryEntry]
    filter: HistoryFilter
    total: int
    last_event_at: datetime | None
    merged_into: Client | None = None
    merged_from: list[Client] = field(default_factory=list)
    # §30: reminders read as reminders, by entry id (history_reminder_notes).
    reminders: dict[int, ReminderNote] = field(default_factory=dict)

    @property
    def keep_until(self) -> datetime | None:
        """§4: the history is kept five years after its newest event."""
        return retention_until(self.last_event_at) if self.last_event_at else None


def history_entries(
    session: Session,
    *,
    client_id: int,
    calendar: WorkCalendar,
    filter: HistoryFilter | None = None,
) -> list[HistoryEntry]:
    """The client's entries in time order, filtered; no access check, no audit (internal)."""
    stmt = select(HistoryEntry).where(HistoryEntry.client_id == client_id)
    if filter is not None:
        if filter.kinds:
            stmt = stmt.where(col(HistoryEntry.kind).in_(filter.kinds))
        if filter.date_from:
            stmt = stmt.where(col(HistoryEntry.at) >= calendar.at(filter.date_from, time.min))
        if filter.date_to:
            next_day = filter.date_to + timedelta(days=1)
            stmt = stmt.where(col(HistoryEntry.at) < calendar.at(next_day, time.min))
    return list(session.exec(stmt.order_by(col(HistoryEntry.at), col(HistoryEntry.id))).all())


def client_history(
    *,
    session: Session,
    calendar: WorkCalendar,
    staff: Staff,
    client_id: int,
    filter: HistoryFilter | None = None,
) -> ClientHistory:
    """Return the client's history for a staff member under the access rule (§4); no audit."""
    client = history_require_access(session, staff=staff, client_id=client_id)
    chosen = filter or HistoryFilter()
    entries = history_entries(session, client_id=client_id, calendar=calendar, filter=chosen)
    total, last = session.exec(
        select(func.count(col(HistoryEntry.id)), func.max(HistoryEntry.at)).where(
            HistoryEntry.client_id == client_id
        )
    ).one()
    merged_into = session.get(Client, client.merged_into_id) if client.merged_into_id else None
    merged_from = list(session.exec(select(Client).where(Client.merged_into_id == client_id)).all())
    return ClientHistory(
        client=client,
        entries=entries,
        filter=chosen,
        total=int(total or 0),
        last_event_at=last,
        merged_into=merged_into,
        merged_from=merged_from,
        reminders=history_reminder_notes(session, entries, calendar=calendar),
    )


def history_kind_choices() -> list[tuple[str, str]]:
    """(value, Russian label) of every history kind, for the filter."""
    return [(k.value, HISTORY_LABELS[k]) for k in HistoryKind]


def clients_visible(*, session: Session, staff: Staff, query: str, limit: int = 30) -> list[Client]:
    """Find clients for the card list: by phone or surname, only those this staff may see.

    A specialist with an empty query gets the clients booked to them, newest first.
    """
    text = (query or "").strip()
    if text:
        found = client_search(session=session, query=text, limit=limit * 3)
        visible = [
            c
            for c in found
            if c.id is not None and history_can_view(session, staff=staff, client_id=c.id)
        ]
        return visible[:limit]
    if sees_all_histories(staff) or staff.id is None:
        return []
    ids = session.exec(
        select(Booking.client_id, func.max(Booking.starts_at).label("last"))
        .where(Booking.staff_id == staff.id)
        .group_by(col(Booking.client_id))
        .order_by(func.max(Booking.starts_at).desc())
        .limit(limit)
    ).all()
    clients = {
        c.id: c
        for c in session.exec(
            select(Client).where(col(Client.id).in_([row[0] for row in ids]))
        ).all()
    }
    return [clients[row[0]] for row in ids if row[0] in clients]
