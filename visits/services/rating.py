"""Ratings of a visit (§36): the tablet prompt and the one rating per ticket.

A finished visit opens a prompt on the tablet of the specialist's own room,
the door the visitor walks out past, also when the conversation ended in a
meeting room (§35.4), which has no tablet. The visitor rates there, or later from the ticket's own page on the phone, or
from the link in the final message (§17): whichever comes first wins, the
unique constraint on Rating.ticket_id stands behind the check. An unanswered
prompt is closed as skipped. A score of 1-2 alerts the unit head at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from visits.models import (
    Device,
    DeviceKind,
    HistoryKind,
    PromptStatus,
    Rating,
    RatingPrompt,
    Role,
    Room,
    RoomKind,
    RoomReservation,
    Staff,
    Ticket,
    TicketStatus,
)
from visits.push import push_emit
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

# How long a finished visit's prompt stays on the room's tablet.
PROMPT_TTL = timedelta(minutes=5)
# §17: the link in the final message and the ticket page accept a rating this long after the visit.
RATING_LINK_TTL = timedelta(days=30)
COMMENT_MAX = 1000
LOW_SCORE = 2

SCORE_LABELS = {1: "Очень плохо", 2: "Плохо", 3: "Нормально", 4: "Хорошо", 5: "Отлично"}
REASONS_LOW = ("долгое ожидание", "не решили вопрос", "непонятно объяснили", "невежливо")
REASONS_HIGH = ("быстро", "понятно", "вежливо", "решили вопрос")

ALREADY_RATED = "Этот визит уже оценён. Спасибо!"
PROMPT_EXPIRED = (
    "Время для оценки на планшете истекло. Оценить визит можно со страницы талона "
    "или по ссылке из сообщения."
)
WRONG_ROOM = "Этот визит проходил в другом кабинете. Планшет показывает только свой кабинет."
NOT_FINISHED = "Оценить визит можно после окончания приёма."
LINK_EXPIRED = "Срок для оценки этого визита истёк."


class RatingSource(StrEnum):
    TABLET = "tablet"
    PHONE = "phone"
    LINK = "link"


SOURCE_ACTORS = {
    RatingSource.TABLET: "Планшет в кабинете",
    RatingSource.PHONE: "Клиент, страница талона",
    RatingSource.LINK: "Клиент, ссылка из сообщения",
}


def rating_reasons_for(score: int) -> tuple[str, ...]:
    """The reason chips offered for a score: what went wrong for 1-2, what went well for 4-5."""
    if score <= LOW_SCORE:
        return REASONS_LOW
    if score >= 4:
        return REASONS_HIGH
    return REASONS_LOW + REASONS_HIGH


def rating_room_of(session: Session, ticket: Ticket) -> int:
    """The room a visit is rated and reported under: the specialist's own room (§36).

    A visit moved to a meeting room (§35.4) still belongs to the specialist's room: the
    meeting room has no tablet, and the visitor leaves past the specialist's door. A
    specialist without a room of her own: the room the ticket was in before the move.
    """
    staff = session.get(Staff, ticket.staff_id)
    if staff is not None and staff.room_id is not None:
        return staff.room_id
    room = session.get(Room, ticket.room_id)
    if room is not None and room.kind == RoomKind.MEETING:
        before = session.exec(
            select(RoomReservation.from_room_id)
            .where(
                RoomReservation.ticket_id == ticket.id,
                col(RoomReservation.from_room_id).is_not(None),
            )
            .order_by(col(RoomReservation.id))
        ).first()
        if before is not None:
            return before
    return ticket.room_id


def rating_prompt_open(session: Session, *, ticket: Ticket) -> RatingPrompt:
    """Offer a rating on the tablet of the specialist's room, inside the caller's transaction."""
    assert ticket.id is not None
    prompt = session.exec(select(RatingPrompt).where(RatingPrompt.ticket_id == ticket.id)).first()
    if prompt is None:
        room_id = rating_room_of(session, ticket)
        prompt = RatingPrompt(
            ticket_id=ticket.id, room_id=room_id, expires_at=utcnow() + PROMPT_TTL
        )
        session.add(prompt)
        session.flush()
        push_emit(
            session,
            "rating.prompt",
            [f"room:{room_id}"],
            ticket_id=ticket.id,
            prompt_id=prompt.id,
        )
    return prompt


def _close_skipped(session: Session, prompt: RatingPrompt, *, now: datetime, why: str) -> None:
    prompt.status = PromptStatus.SKIPPED
    prompt.closed_at = now
    session.add(prompt)
    ticket = session.get(Ticket, prompt.ticket_id)
    if ticket is not None:
        # §4: the offer and its outcome are part of the history.
        history_record(
            session,
            client_id=ticket.client_id,
            kind=HistoryKind.RATING_SKIPPED,
            summary=f"Талон {ticket.number}: оценку на планшете не поставили ({why}).",
            actor=SOURCE_ACTORS[RatingSource.TABLET],
            ticket_id=ticket.id,
            booking_id=ticket.booking_id,
            data={"prompt_id": prompt.id, "reason": why},
            at=now,
        )


def rating_prompts_expire(
    *, session: Session, now: datetime | None = None, room_id: int | None = None
) -> int:
    """Close overdue open prompts as skipped (a scheduler job, and the tablet on every look)."""
    moment = now or utcnow()
    query = select(RatingPrompt).where(
        RatingPrompt.status == PromptStatus.OPEN, col(RatingPrompt.expires_at) <= moment
    )
    if room_id is not None:
        query = query.where(RatingPrompt.room_id == room_id)
    # Read first: most looks find nothing, and then no write transaction is opened.
    if session.exec(query.limit(1)).first() is None:
        return 0
    with write_transaction(session):
        prompts = session.exec(query).all()
        for prompt in prompts:
            _close_skipped(session, prompt, now=moment, why="время вышло")
    log.info("rating prompts expired: %s", len(prompts))
    return len(prompts)


def _tablet_room(device: Device) -> int:
    if device.kind != DeviceKind.TABLET.value or device.room_id is None:
        raise Forbidden("Это устройство не планшет кабинета.")
    return device.room_id


def rating_prompt_current(
    *, session: Session, device: Device, now: datetime | None = None
) -> tuple[RatingPrompt, Ticket] | None:
    """The newest open prompt of the tablet's own room, after closing overdue ones."""
    room_id = _tablet_room(device)
    moment = now or utcnow()
    rating_prompts_expire(session=session, now=moment, room_id=room_id)
    row = session.exec(
        select(RatingPrompt, Ticket)
        .join(Ticket, col(Ticket.id) == RatingPrompt.ticket_id)
        .where(
            RatingPrompt.room_id == room_id,
            RatingPrompt.status == PromptStatus.OPEN,
            col(RatingPrompt.expires_at) > moment,
        )
        .order_by(col(RatingPrompt.created_at).desc(), col(RatingPrompt.id).desc())
    ).first()
    return (row[0], row[1]) if row else None


def rating_prompt_for_tablet(
    *, session: Session, device: Device, prompt_id: int, now: datetime | None = None
) -> tuple[RatingPrompt, Ticket]:
    """A prompt the tablet may show: its own room's, still open and not overdue."""
    room_id = _tablet_room(device)
    prompt = session.get(RatingPrompt, prompt_id)
    if prompt is None:
        raise NotFound("Такого приглашения к оценке нет.")
    # A tablet only sees the visits of its own room's specialist.
    if prompt.room_id != room_id:
        raise Forbidden(WRONG_ROOM, code="wrong_room")
    if session.exec(select(Rating.id).where(Rating.ticket_id == prompt.ticket_id)).first():
        raise Conflict(ALREADY_RATED, code="already_rated")
    moment = now or utcnow()
    if prompt.status != PromptStatus.OPEN or prompt.expires_at <= moment:
        raise RuleViolation(PROMPT_EXPIRED, code="prompt_expired")
    ticket = session.get(Ticket, prompt.ticket_id)
    assert ticket is not None
    return prompt, ticket


def rating_prompt_skip(
    *, session: Session, device: Device, prompt_id: int, now: datetime | None = None
) -> None:
    """The tablet went back to idle without a score: the prompt is closed as skipped."""
    moment = now or utcnow()
    with write_transaction(session):
        prompt, _ticket = rating_prompt_for_tablet(
            session=session, device=device, prompt_id=prompt_id, now=moment
        )
        _close_skipped(session, prompt, now=moment, why="посетитель не ответил")


def rating_ticket_by_token(*, session: Session, token: str) -> Ticket:
    """The ticket of a /t/<token> page, or NotFound."""
    ticket = session.exec(select(Ticket).where(Ticket.token == token)).first() if token else None
    if ticket is None:
        raise NotFound("Талон не найден. Проверьте ссылку.")
    return ticket


def rating_of_ticket(*, session: Session, ticket_id: int) -> Rating | None:
    return session.exec(select(Rating).where(Rating.ticket_id == ticket_id)).first()


def rating_check_open(ticket: Ticket, *, now: datetime | None = None) -> None:
    """Raise unless the visit can be rated from its own page or link (§17, §36)."""
    if ticket.status != TicketStatus.DONE or ticket.finished_at is None:
        raise RuleViolation(NOT_FINISHED, code="not_finished")
    if (now or utcnow()) - ticket.finished_at > RATING_LINK_TTL:
        raise RuleViolation(LINK_EXPIRED, code="link_expired")


def _clean(score: int, reasons: list[str], comment: str) -> tuple[list[str], str]:
    if score not in SCORE_LABELS:
        raise InvalidInput("Выберите оценку от 1 до 5.", field="score")
    allowed = rating_reasons_for(score)
    unknown = [r for r in reasons if r not in allowed]
    if unknown:
        raise InvalidInput("Выберите причины из списка на экране.", field="reasons")
    text = " ".join(comment.split())
    if len(text) > COMMENT_MAX:
        raise InvalidInput(
            f"Комментарий длиннее {COMMENT_MAX} знаков. Сократите его.", field="comment"
        )
    # Keep the order of the chips on screen, without repeats.
    return [r for r in allowed if r in reasons], text


def _summary(ticket: Ticket, score: int, reasons: list[str], comment: str) -> str:
    parts = [f"Талон {ticket.number}: оценка {score} из 5 ({SCORE_LABELS[score].lower()})."]
    if reasons:
        parts.append("Причины: " + ", ".join(reasons) + ".")
    if comment:
        parts.append(f"Комментарий: «{comment}».")
    return " ".join(parts)


def unit_heads_of(session: Session, staff_id: int) -> list[Staff]:
    """The heads of the unit the staff member works in."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.unit:
        return []
    return list(
        session.exec(
            select(Staff).where(
                Staff.unit == staff.unit,
                col(Staff.unit_head).is_(True),
                col(Staff.active).is_(True),
            )
        ).all()
    )


def _rating_create(
    session: Session,
    *,
    ticket: Ticket,
    score: int,
    reasons: list[str],
    comment: str,
    source: RatingSource,
    device: Device | None,
    prompt: RatingPrompt | None,
    now: datetime,
) -> Rating:
    """Save the one rating of a ticket with its history and alerts (inside a transaction)."""
    assert ticket.id is not None
    if rating_of_ticket(session=session, ticket_id=ticket.id) is not None:
        raise Conflict(ALREADY_RATED, code="already_rated")
    room_id = prompt.room_id if prompt is not None else rating_room_of(session, ticket)
    rating = Rating(
        ticket_id=ticket.id,
        score=score,
        reasons=reasons,
        comment=comment,
        source=source.value,
        device_id=device.id if device else None,
        staff_id=ticket.staff_id,
        service_id=ticket.service_id,
        # §36: reports count the visit under the specialist's room, not a meeting room.
        room_id=room_id,
        created_at=now,
    )
    session.add(rating)
    session.flush()
    _prompt_close(session, ticket, prompt, now)
    # §4: the rating and its reasons go to the client's history.
    history_record(
        session,
        client_id=ticket.client_id,
        kind=HistoryKind.RATED,
        summary=_summary(ticket, score, reasons, comment),
        actor=_rating_actor(session, rating, source),
        ticket_id=ticket.id,
        booking_id=ticket.booking_id,
        data={"score": score, "reasons": reasons, "comment": comment, "source": source.value},
        at=now,
    )
    if score <= LOW_SCORE:
        _low_score_alert(session, ticket, rating)
    return rating


def _prompt_close(
    session: Session, ticket: Ticket, prompt: RatingPrompt | None, now: datetime
) -> None:
    """Mark the ticket's open rating prompt answered, so no tablet offers it again."""
    if prompt is None:
        prompt = session.exec(
            select(RatingPrompt).where(RatingPrompt.ticket_id == ticket.id)
        ).first()
    if prompt is not None and prompt.status == PromptStatus.OPEN:
        prompt.status = PromptStatus.ANSWERED
        prompt.closed_at = now
        session.add(prompt)


def _rating_actor(session: Session, rating: Rating, source: RatingSource) -> str:
    """Name where the rating came from; a tablet by its room's number."""
    actor = SOURCE_ACTORS[source]
    if source == RatingSource.TABLET:
        room = session.get(Room, rating.room_id)
        actor = f"{actor} {room.number}" if room else actor
    return actor


def _low_score_alert(session: Session, ticket: Ticket, rating: Rating) -> None:
    """Push a low score to the heads of the specialist's unit."""
    # A score of 1-2 reaches the unit head's panel the same minute (ids only in the event).
    heads = unit_heads_of(session, ticket.staff_id)
    if heads:
        push_emit(
            session,
            "rating.low",
            [f"staff:{head.id}" for head in heads],
            rating_id=rating.id,
            ticket_id=ticket.id,
            score=rating.score,
        )


def rating_from_tablet(
    *,
    session: Session,
    device: Device,
    prompt_id: int,
    score: int,
    reasons: list[str],
    comment: str = "",
    now: datetime | None = None,
) -> Rating:
    """Rate a visit on the tablet of the specialist's room (§36)."""
    moment = now or utcnow()
    clean_reasons, text = _clean(score, reasons, comment)
    try:
        with write_transaction(session):
            prompt, ticket = rating_prompt_for_tablet(
                session=session, device=device, prompt_id=prompt_id, now=moment
            )
            rating = _rating_create(
                session,
                ticket=ticket,
                score=score,
                reasons=clean_reasons,
                comment=text,
                source=RatingSource.TABLET,
                device=device,
                prompt=prompt,
                now=moment,
            )
    except IntegrityError as exc:
        log.info("rating: concurrent second rating refused: %s", exc.orig)
        raise Conflict(ALREADY_RATED, code="already_rated") from exc
    log.info("rating: ticket %s rated %s on tablet %s", rating.ticket_id, score, device.id)
    return rating


def rating_by_token(
    *,
    session: Session,
    token: str,
    score: int,
    reasons: list[str],
    comment: str = "",
    source: RatingSource = RatingSource.PHONE,
    now: datetime | None = None,
) -> Rating:
    """Rate a visit from its ticket page or the final message's link (§17, §36)."""
    moment = now or utcnow()
    clean_reasons, text = _clean(score, reasons, comment)
    try:
        with write_transaction(session):
            ticket = rating_ticket_by_token(session=session, token=token)
            if rating_of_ticket(session=session, ticket_id=ticket.id or 0) is not None:
                raise Conflict(ALREADY_RATED, code="already_rated")
            rating_check_open(ticket, now=moment)
            rating = _rating_create(
                session,
                ticket=ticket,
                score=score,
                reasons=clean_reasons,
                comment=text,
                source=source,
                device=None,
                prompt=None,
                now=moment,
            )
    except IntegrityError as exc:
        log.info("rating: concurrent second rating refused: %s", exc.orig)
        raise Conflict(ALREADY_RATED, code="already_rated") from exc
    log.info("rating: ticket %s rated %s via %s", rating.ticket_id, score, source.value)
    return rating


def rating_ticket_open(*, session: Session, staff: Staff, ticket_id: int) -> Ticket:
    """The administrator opens the ticket behind a rating; the look is audited."""
    if not staff.has_role(Role.ADMINISTRATOR):
        # §36: ratings stay anonymous to everyone else.
        raise Forbidden("Открыть талон по оценке может только администратор.")
    with write_transaction(session):
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound("Талон не найден.")
        audit_record(
            session,
            staff=staff,
            action="rating.ticket_view",
            client_id=ticket.client_id,
            ticket_id=ticket.id,
            details=f"Талон {ticket.number} из отчёта об оценках",
        )
    return ticket
