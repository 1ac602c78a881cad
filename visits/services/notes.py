"""Staff notes on a client, read before the visit (§34.4)."""

from __future__ import annotations

from sqlmodel import Session

from visits.db import write_transaction
from visits.errors import InvalidInput, NotFound
from visits.models import Client, ClientNote, HistoryKind, Staff
from visits.services.history import audit_record, history_record

NOTE_MAX = 2000


def client_note_add(*, session: Session, staff: Staff, client_id: int, text: str) -> ClientNote:
    """Add a note to the client's card; it is part of the client's history (§4)."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Напишите текст заметки.", field="text")
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"Заметка — не длиннее {NOTE_MAX} знаков.", field="text")
    with write_transaction(session):
        client = session.get(Client, client_id)
        if client is None:
            raise NotFound("Клиент не найден.")
        note = ClientNote(client_id=client_id, staff_id=staff.id or 0, text=text)
        session.add(note)
        history_record(
            session,
            client_id=client_id,
            kind=HistoryKind.NOTE_ADDED,
            staff=staff,
            summary=f"Заметка специалиста: {text[:300]}",
        )
        audit_record(session, staff=staff, action="client.note", client_id=client_id)
    return note


def client_card_viewed(*, session: Session, staff: Staff, client_id: int) -> None:
    """Audit: who looked at whose card before a visit."""
    with write_transaction(session):
        audit_record(session, staff=staff, action="client.card_viewed", client_id=client_id)
