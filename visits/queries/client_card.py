"""A compact client card for the specialist before the visit (§34.4).

Earlier visits, messages and notes, and the documents the service needs. The
full timeline of §4 is the history screen's job; this is a summary.

§36: no ratings. A visitor rates anonymously to the specialists; the
administrator and the unit head read ratings in the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from visits.models import (
    CHANNEL_LABELS,
    Booking,
    Channel,
    Client,
    ClientNote,
    OutgoingMessage,
    Room,
    Service,
    Staff,
    Ticket,
)
from visits.rules import MAX_TRANSFERS

CARD_LIMIT = 10
STATUS_WORDS = {
    "booked": "записан",
    "cancelled": "запись отменена",
    "checked_in": "пришёл",
    "completed": "принят",
    "no_show": "не пришёл",
}


@dataclass(frozen=True)
class VisitLine:
    at: datetime
    service: str
    staff: str
    status: str
    ticket_number: str


MESSAGE_STATUS_WORDS = {
    "queued": "ждёт отправки",
    "sending": "отправляется",
    "sent": "отправлено",
    "failed": "не отправлено",
    "skipped": "не отправлялось",
}


@dataclass(frozen=True)
class MessageLine:
    at: datetime
    subject: str
    channel: str
    status: str


@dataclass(frozen=True)
class NoteLine:
    at: datetime
    staff: str
    text: str


@dataclass
class ClientCard:
    client: Client
    booking: Booking
    service: Service
    staff: Staff
    room: Room
    ticket: Ticket | None
    documents: list[str]
    visits: list[VisitLine]
    messages: list[MessageLine]
    notes: list[NoteLine]

    @property
    def transfers_left(self) -> int:
        return MAX_TRANSFERS - (self.ticket.transfer_count if self.ticket else 0)


def client_card(session: Session, booking_id: int) -> ClientCard | None:
    """The card for one of today's bookings, or None if there is no such booking."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        return None
    client = session.get(Client, booking.client_id)
    ticket = session.exec(select(Ticket).where(Ticket.booking_id == booking.id)).first()
    service = session.get(Service, ticket.service_id if ticket else booking.service_id)
    staff = session.get(Staff, ticket.staff_id if ticket else booking.staff_id)
    room = session.get(Room, ticket.room_id if ticket else booking.room_id)
    assert client and client.id is not None and service and staff and room
    staff_names = {s.id: s.short_name for s in session.exec(select(Staff)).all()}
    return ClientCard(
        client=client,
        booking=booking,
        service=service,
        staff=staff,
        room=room,
        ticket=ticket,
        documents=list(service.documents),
        visits=_earlier_visits(session, booking, staff_names),
        messages=_messages(session, client.id),
        notes=_notes(session, client.id, staff_names),
    )


def _earlier_visits(
    session: Session,
    booking: Booking,
    staff_names: dict[int | None, str],
) -> list[VisitLine]:
    """The client's other bookings, newest first, with their ticket (never its rating, §36)."""
    services = {s.id: s.name for s in session.exec(select(Service)).all()}
    earlier = session.exec(
        select(Booking)
        .where(Booking.client_id == booking.client_id, Booking.id != booking.id)
        .order_by(col(Booking.starts_at).desc())
        .limit(CARD_LIMIT)
    ).all()
    earlier_tickets = {
        t.booking_id: t
        for t in session.exec(
            select(Ticket).where(col(Ticket.booking_id).in_([b.id for b in earlier]))
        ).all()
    }
    visits = []
    for item in earlier:
        earlier_ticket = earlier_tickets.get(item.id or 0)
        visits.append(
            VisitLine(
                at=item.starts_at,
                service=services.get(item.service_id, ""),
                staff=staff_names.get(item.staff_id, ""),
                status=STATUS_WORDS.get(item.status, item.status),
                ticket_number=earlier_ticket.number if earlier_ticket else "",
            )
        )
    return visits


def _messages(session: Session, client_id: int) -> list[MessageLine]:
    return [
        MessageLine(
            at=message.created_at,
            subject=message.subject,
            channel=CHANNEL_LABELS.get(Channel(message.channel), message.channel)
            if message.channel in {c.value for c in Channel}
            else message.channel,
            status=MESSAGE_STATUS_WORDS.get(message.status, message.status),
        )
        for message in session.exec(
            select(OutgoingMessage)
            .where(OutgoingMessage.client_id == client_id)
            .order_by(col(OutgoingMessage.created_at).desc())
            .limit(CARD_LIMIT)
        ).all()
    ]


def _notes(session: Session, client_id: int, staff_names: dict[int | None, str]) -> list[NoteLine]:
    return [
        NoteLine(at=note.created_at, staff=staff_names.get(note.staff_id, ""), text=note.text)
        for note in session.exec(
            select(ClientNote)
            .where(ClientNote.client_id == client_id)
            .order_by(col(ClientNote.created_at).desc())
            .limit(CARD_LIMIT)
        ).all()
    ]
