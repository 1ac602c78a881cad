"""Ratings of a visit (§36): the tablet prompt and the one rating per ticket."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from visits.calendar import utcnow
from visits.models import RatingPrompt, Ticket
from visits.push import push_emit

# How long a finished visit's prompt stays on the room's tablet.
PROMPT_TTL = timedelta(minutes=5)


def rating_prompt_open(session: Session, *, ticket: Ticket) -> RatingPrompt:
    """Offer a rating on the tablet of the ticket's room, inside the caller's transaction."""
    assert ticket.id is not None
    prompt = session.exec(select(RatingPrompt).where(RatingPrompt.ticket_id == ticket.id)).first()
    if prompt is None:
        prompt = RatingPrompt(
            ticket_id=ticket.id, room_id=ticket.room_id, expires_at=utcnow() + PROMPT_TTL
        )
        session.add(prompt)
        session.flush()
        push_emit(
            session,
            "rating.prompt",
            [f"room:{ticket.room_id}"],
            ticket_id=ticket.id,
            prompt_id=prompt.id,
        )
    return prompt
