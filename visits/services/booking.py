"""Booking a visit by phone (§28-29), with reminders (§30), and cancelling it (§32)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict, InvalidInput, NotFound, RuleViolation, SlotTaken
from visits.models import (
    CHANNEL_LABELS,
    Booking,
    BookingStatus,
    Channel,
    Client,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    Room,
    Service,
    SlotHold,
    Staff,
    StaffService,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText, booking_cancellation, booking_confirmation
from visits.push import push_emit
from visits.queries.slots import Specialist, cells_of, service_specialists, slot_is_bookable
from visits.ru import date_short
from visits.services.clients import phone_display
from visits.services.history import history_record
from visits.services.reminders import reminders_drop, reminders_schedule

log = logging.getLogger(__name__)

# No look-alikes: no 0/O, no 1/I/L. Read aloud over the phone and typed on a kiosk keypad.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
SUBMIT_KEY_MAX = 64  # Booking.submit_key column


def booking_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def booking_code_normalise(raw: str) -> str:
    """Clean a typed or scanned booking code; raise InvalidInput if it cannot be one.

    Accepts the QR payload "PRIYOM:ABC234" and forgives the look-alikes a
    person may type (O for 0 is not in the alphabet, so O/0 -> not valid).
    """
    value = (raw or "").strip().upper()
    if value.startswith("PRIYOM:"):
        value = value.removeprefix("PRIYOM:")
    value = value.replace(" ", "").replace("-", "")
    if len(value) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in value):
        raise InvalidInput(
            f"Код записи — {CODE_LENGTH} знаков: латинские буквы и цифры от 2 до 9. Проверьте код.",
            field="code",
        )
    return value


@dataclass(frozen=True)
class BookingConfirmation:
    booking: Booking
    text: MessageText
    created: bool  # False when the same form was posted twice


@dataclass(frozen=True)
class _BookingParts:
    """What a new booking refers to, each checked to exist and to fit together."""

    client: Client
    service: Service
    specialist: Staff
    room: Room
    room_id: int


def booking_create(
    *,
    session: Session,
    calendar: WorkCalendar,
    client_id: int,
    service_id: int,
    staff_id: int,
    starts_at: datetime,
    remind_day_before: bool,
    remind_two_hours_before: bool,
    staff: Staff | None,
    submit_key: str | None = None,
    walk_in: bool = False,
    now: datetime | None = None,
) -> BookingConfirmation:
    """Book a free slot. Exactly one of two racing operators wins (SlotHold unique)."""
    submit_key = _submit_key_clean(submit_key)
    if earlier := _booking_of_submit_key(session, submit_key):
        return _confirmation(session, calendar, earlier, created=False)
    parts = _booking_parts(session, client_id=client_id, service_id=service_id, staff_id=staff_id)
    reason = slot_is_bookable(
        calendar, starts_at=starts_at, duration_minutes=parts.service.duration_minutes, now=now
    )
    if reason:
        raise InvalidInput(reason, field="slot")
    booking = Booking(
        code=_unused_code(session),
        client_id=client_id,
        service_id=service_id,
        staff_id=staff_id,
        room_id=parts.room_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=parts.service.duration_minutes),
        remind_day_before=remind_day_before,
        remind_two_hours_before=remind_two_hours_before,
        created_by_staff_id=staff.id if staff else None,
        submit_key=submit_key,
        walk_in=walk_in,
    )
    try:
        with write_transaction(session):
            text = _booking_write(session, calendar, booking, parts, staff=staff)
    except IntegrityError as exc:
        session.rollback()
        if earlier := _booking_of_submit_key(session, submit_key):
            return _confirmation(session, calendar, earlier, created=False)
        log.info("booking refused: slot %s of staff %s taken meanwhile", starts_at, staff_id)
        raise SlotTaken() from exc
    log.info(
        "booking %s created: client=%s staff=%s at %s", booking.code, client_id, staff_id, starts_at
    )
    return BookingConfirmation(booking=booking, text=text, created=True)


def _submit_key_clean(raw: str | None) -> str | None:
    """The form's one-time key (a double post gives the same booking); None if absent."""
    submit_key = (raw or "").strip() or None
    if submit_key and (len(submit_key) > SUBMIT_KEY_MAX or not submit_key.isascii()):
        raise InvalidInput(
            "Форма записи повреждена. Обновите страницу и выберите время снова.", field="slot"
        )
    return submit_key


def _booking_of_submit_key(session: Session, submit_key: str | None) -> Booking | None:
    if not submit_key:
        return None
    return session.exec(select(Booking).where(Booking.submit_key == submit_key)).first()


def _booking_parts(
    session: Session, *, client_id: int, service_id: int, staff_id: int
) -> _BookingParts:
    """Load the service, the specialist with the room, and the client; refuse what does not fit."""
    service = session.get(Service, service_id)
    if service is None or not service.active:
        raise InvalidInput("Такой услуги нет. Выберите услугу из списка.", field="service")
    specialist = session.get(Staff, staff_id)
    link = session.exec(
        select(StaffService).where(
            StaffService.staff_id == staff_id, StaffService.service_id == service_id
        )
    ).first()
    if specialist is None or not specialist.active or link is None or specialist.room_id is None:
        raise InvalidInput(
            "Этот специалист не ведёт приём по выбранной услуге. Выберите время из списка.",
            field="slot",
        )
    client = session.get(Client, client_id)
    if client is None or client.merged_into_id is not None:
        raise NotFound("Клиент не найден.", field="client")
    room = session.get(Room, specialist.room_id)
    assert room is not None and room.id is not None
    return _BookingParts(
        client=client, service=service, specialist=specialist, room=room, room_id=room.id
    )


def _booking_write(
    session: Session,
    calendar: WorkCalendar,
    booking: Booking,
    parts: _BookingParts,
    *,
    staff: Staff | None,
) -> MessageText:
    """Inside the transaction: the booking, its slot holds, history, confirmation, reminders."""
    session.add(booking)
    session.flush()
    assert booking.id is not None
    for cell in cells_of(
        booking.starts_at, parts.service.duration_minutes, calendar.config.office.slot_minutes
    ):
        session.add(SlotHold(staff_id=booking.staff_id, starts_at=cell, booking_id=booking.id))
    session.flush()
    local = calendar.to_local(booking.starts_at)
    text = booking_confirmation(
        config=calendar.config,
        client=parts.client,
        service=parts.service,
        staff=parts.specialist,
        room=parts.room,
        local_start=local,
        code=booking.code,
    )
    _booking_history(session, booking, parts, local=local, staff=staff)
    message_queue(
        session,
        client=parts.client,
        kind=MessageKind.CONFIRMATION,
        text=text,
        booking_id=booking.id,
        staff=staff,
    )
    # §30: the reminders are queued with the booking, so no booking is left without them.
    reminders_schedule(session, booking=booking, config=calendar.config)
    push_emit(
        session,
        "booking.created",
        _booking_topics(booking),
        booking_id=booking.id,
        staff_id=booking.staff_id,
    )
    return text


def _booking_history(
    session: Session,
    booking: Booking,
    parts: _BookingParts,
    *,
    local: datetime,
    staff: Staff | None,
) -> None:
    """The booking in the client's history (§4): who booked, what, where, which reminders."""
    history_record(
        session,
        client_id=booking.client_id,
        kind=HistoryKind.BOOKING_CREATED,
        staff=staff,
        actor=None if staff else "Терминал в холле",
        booking_id=booking.id,
        summary=f"Запись на {local:%d.%m.%Y %H:%M}: {parts.service.name}. Специалист "
        f"{parts.specialist.full_name}, {parts.room.place}. Код {booking.code}.",
        data={
            "reminders": _reminder_words(booking.remind_day_before, booking.remind_two_hours_before)
        },
    )


def _unused_code(session: Session) -> str:
    """A fresh booking code; a clash with an existing one is drawn again, not a lost slot."""
    for _ in range(10):
        code = booking_code_new()
        if session.exec(select(Booking.id).where(Booking.code == code)).first() is None:
            return code
    raise RuntimeError("no free booking code after 10 draws")


def _booking_topics(booking: Booking) -> list[str]:
    """Who sees a booking change live: its specialist, administrators, the operators' desks."""
    return [f"staff:{booking.staff_id}", "admin", "operators"]


def _reminder_words(day: bool, two_hours: bool) -> str:
    words = [w for w, on in (("за день", day), ("за два часа", two_hours)) if on]
    return ", ".join(words) or "без напоминаний"


def _confirmation(
    session: Session, calendar: WorkCalendar, booking: Booking, *, created: bool
) -> BookingConfirmation:
    client = session.get(Client, booking.client_id)
    service = session.get(Service, booking.service_id)
    specialist = session.get(Staff, booking.staff_id)
    room = session.get(Room, booking.room_id)
    assert client and service and specialist and room
    text = booking_confirmation(
        config=calendar.config,
        client=client,
        service=service,
        staff=specialist,
        room=room,
        local_start=calendar.to_local(booking.starts_at),
        code=booking.code,
    )
    return BookingConfirmation(booking=booking, text=text, created=created)


def booking_get(*, session: Session, booking_id: int) -> Booking:
    """Return a booking by id, or NotFound."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Запись не найдена.")
    return booking


def booking_confirmation_text(
    *, session: Session, calendar: WorkCalendar, booking_id: int
) -> BookingConfirmation:
    """Return the confirmation of an existing booking (to read it to the caller again)."""
    booking = booking_get(session=session, booking_id=booking_id)
    return _confirmation(session, calendar, booking, created=False)


@dataclass(frozen=True)
class BookingReceipt:
    """A booking as the desk shows it once made: the text to read out, the outbox, who and where."""

    booking: Booking
    text: MessageText
    client: Client
    outbox: list[OutgoingMessage]
    specialist: Specialist | None  # None once the specialist no longer serves the service
    local_start: datetime


def booking_receipt(*, session: Session, calendar: WorkCalendar, booking_id: int) -> BookingReceipt:
    """Return what the desk shows for a booking (§31): its confirmation and its messages."""
    confirmation = booking_confirmation_text(
        session=session, calendar=calendar, booking_id=booking_id
    )
    booking = confirmation.booking
    client = session.get(Client, booking.client_id)
    assert client is not None
    specialists = {s.staff.id: s for s in service_specialists(session, booking.service_id)}
    return BookingReceipt(
        booking=booking,
        text=confirmation.text,
        client=client,
        outbox=booking_outbox(
            session=session, booking_id=booking_id, kind=MessageKind.CONFIRMATION
        ),
        specialist=specialists.get(booking.staff_id),
        local_start=calendar.to_local(booking.starts_at),
    )


def booking_outbox(
    *, session: Session, booking_id: int, kind: MessageKind
) -> list[OutgoingMessage]:
    """The outbox rows of one message of a booking: what the client gets, by channel."""
    return list(
        session.exec(
            select(OutgoingMessage)
            .where(OutgoingMessage.booking_id == booking_id, OutgoingMessage.kind == kind.value)
            .order_by(col(OutgoingMessage.id))
        ).all()
    )


def booking_cancel(
    *,
    session: Session,
    calendar: WorkCalendar,
    booking_id: int,
    staff: Staff | None,
    reason: str = "",
) -> Booking:
    """Cancel a booking (§32): the slot is free at once, the client gets a message."""
    with write_transaction(session):
        booking = _booking_lock_cancellable(session, booking_id)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = utcnow()
        booking.cancelled_by_staff_id = staff.id if staff else None
        booking.cancel_reason = reason.strip()[:500]
        for hold in session.exec(select(SlotHold).where(SlotHold.booking_id == booking.id)).all():
            session.delete(hold)
        session.add(booking)
        _booking_cancel_tell(session, calendar, booking, staff=staff)
        reminders_drop(session, booking=booking, reason="Запись отменена")
        push_emit(
            session,
            "booking.cancelled",
            _booking_topics(booking),
            booking_id=booking.id,
            staff_id=booking.staff_id,
        )
    log.info("booking %s cancelled", booking.code)
    return booking


def _booking_lock_cancellable(session: Session, booking_id: int) -> Booking:
    """The booking under a row lock, if it can still be cancelled (§32)."""
    # Two operators cancelling at once: the second waits here and sees "already cancelled".
    booking = session.get(
        Booking, booking_id, with_for_update=for_update(session), populate_existing=True
    )
    if booking is None:
        raise NotFound("Запись не найдена.")
    if booking.status == BookingStatus.CANCELLED:
        raise Conflict("Эта запись уже отменена.", code="already_cancelled")
    if booking.status != BookingStatus.BOOKED:
        raise RuleViolation(
            "Клиент уже пришёл на приём: запись отменить нельзя.", code="not_cancellable"
        )
    return booking


def _booking_cancel_tell(
    session: Session, calendar: WorkCalendar, booking: Booking, *, staff: Staff | None
) -> None:
    """The cancellation in the client's history (§4) and the message to the client (§32)."""
    client = session.get(Client, booking.client_id)
    service = session.get(Service, booking.service_id)
    assert client and service
    local = calendar.to_local(booking.starts_at)
    history_record(
        session,
        client_id=client.id or 0,
        kind=HistoryKind.BOOKING_CANCELLED,
        staff=staff,
        booking_id=booking.id,
        summary=f"Запись на {local:%d.%m.%Y %H:%M} отменена"
        + (f". Причина: {booking.cancel_reason}" if booking.cancel_reason else "."),
    )
    message_queue(
        session,
        client=client,
        kind=MessageKind.CANCELLATION,
        text=booking_cancellation(
            config=calendar.config, client=client, service=service, local_start=local
        ),
        booking_id=booking.id,
        staff=staff,
    )


def booking_cancel_notice(*, session: Session, calendar: WorkCalendar, booking: Booking) -> str:
    """What the operator sees after a cancellation: the slot is free, where the message went."""
    local = calendar.to_local(booking.starts_at)
    rows = booking_outbox(
        session=session, booking_id=booking.id or 0, kind=MessageKind.CANCELLATION
    )
    where = ", ".join(
        f"{CHANNEL_LABELS[Channel(r.channel)]} ({_recipient_display(r.channel, r.recipient)})"
        for r in rows
        if r.status != MessageStatus.SKIPPED
    )
    told = (
        f"Сообщение об отмене поставлено в очередь: {where}."
        if where
        else "Сообщите клиенту об отмене сейчас, в разговоре."
    )
    return (
        f"Запись на {date_short(local)}, {local:%H:%M} отменена. Это время снова свободно. {told}"
    )


def _recipient_display(channel: str, recipient: str) -> str:
    return recipient if channel == Channel.EMAIL else phone_display(recipient)
