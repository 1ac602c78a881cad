"""When a booking may be checked in: its status, its day and the window around its time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar
from visits.models import BookingStatus, Role, Room, RoomKind, Service, Staff
from visits.ru import date_with_weekday, minutes_phrase
from visits.services.checkin.common import CheckinRefused, first_free_slot_today, office_phones


class BookingDue(Protocol):
    """What the window reads of a booking: a Booking, or the check-in's row of it."""

    @property
    def id(self) -> int | None: ...
    @property
    def status(self) -> BookingStatus: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def service_id(self) -> int: ...


def checkin_window_check(
    session: Session, calendar: WorkCalendar, booking: BookingDue, now: datetime
) -> int:
    """Raise CheckinRefused unless the booking may be checked in now; return minutes late."""
    _refuse_by_status(calendar, booking)
    _refuse_other_day(calendar, booking, now)
    office = calendar.config.office
    start = calendar.to_local(booking.starts_at)
    opens = start - timedelta(minutes=office.checkin_opens_minutes_before)
    if calendar.to_local(now) < opens:
        raise CheckinRefused(
            f"Ваш приём в {start:%H:%M}. Регистрация открывается за "
            f"{minutes_phrase(office.checkin_opens_minutes_before)} до приёма: "
            f"подойдите к терминалу с {opens:%H:%M}.",
            reason="too_early",
            booking_id=booking.id,
        )
    late = math.floor((now - booking.starts_at).total_seconds() / 60)
    grace = office.late_checkin_grace_minutes
    if late > grace or booking.status == BookingStatus.NO_SHOW:
        service = session.get(Service, booking.service_id)
        assert service is not None
        # §29: the refusal carries today's first free time, offered instead.
        offer = first_free_slot_today(session, calendar, service=service, now=now)
        raise CheckinRefused(
            f"Ваш приём был в {start:%H:%M}. Зарегистрироваться можно было до "
            f"{start + timedelta(minutes=grace):%H:%M}. {_whom_to_ask(session, calendar)}",
            reason="too_late",
            booking_id=booking.id,
            offer=offer,
            service_id=service.id,
        )
    return max(0, late)


def _refuse_by_status(calendar: WorkCalendar, booking: BookingDue) -> None:
    """Refuse a cancelled or completed booking."""
    start = calendar.to_local(booking.starts_at)
    if booking.status == BookingStatus.CANCELLED:
        raise CheckinRefused(
            f"Запись на {date_with_weekday(start)}, {start:%H:%M}, отменена. "
            f"Записаться снова можно по телефону {office_phones(calendar)}.",
            reason="cancelled",
            booking_id=booking.id,
        )
    if booking.status == BookingStatus.COMPLETED:
        raise CheckinRefused(
            "Приём по этой записи уже завершён.", reason="finished", booking_id=booking.id
        )


def _refuse_other_day(calendar: WorkCalendar, booking: BookingDue, now: datetime) -> None:
    """Refuse a booking of another day, saying when to come or whom to call."""
    office = calendar.config.office
    start = calendar.to_local(booking.starts_at)
    today = calendar.to_local(now).date()
    opens = start - timedelta(minutes=office.checkin_opens_minutes_before)
    if start.date() > today:
        raise CheckinRefused(
            f"Ваша запись — на {date_with_weekday(start)}, {start:%H:%M}. "
            f"Приходите в этот день: зарегистрироваться можно с {opens:%H:%M}.",
            reason="other_day",
            booking_id=booking.id,
        )
    if start.date() < today:
        raise CheckinRefused(
            f"Ваша запись была на {date_with_weekday(start)}, {start:%H:%M}. "
            f"Записаться снова можно по телефону {office_phones(calendar)}.",
            reason="other_day",
            booking_id=booking.id,
        )


def _whom_to_ask(session: Session, calendar: WorkCalendar) -> str:
    """Name the hall's administrator and where to find them, or the phone lines."""
    admins = [
        s
        for s in session.exec(select(Staff).where(col(Staff.active).is_(True))).all()
        if s.has_role(Role.ADMINISTRATOR)
    ]
    hall = session.exec(select(Room).where(Room.kind == RoomKind.HALL.value)).first()
    if admins and hall:
        return (
            f"Обратитесь к администратору приёма: {admins[0].full_name}, "
            f"{hall.name.lower() or 'зал приёма'} {hall.number}, {hall.floor} этаж."
        )
    return f"Позвоните по телефону {office_phones(calendar)}: оператор подберёт новое время."
