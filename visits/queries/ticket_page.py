"""What a ticket says to its visitor: on the kiosk, on paper and on its own page /t/<token>."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, exists
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, col

from visits.calendar import WorkCalendar
from visits.errors import NotFound
from visits.models import Client, Rating, Room, Service, Staff, Ticket, TicketStatus
from visits.ru import date_with_weekday

TICKET_PATH = "/t/{token}"


@dataclass(frozen=True)
class TicketInfo:
    """A ticket in words; no surname and no phone number of the visitor."""

    ticket_id: int
    number: str
    token: str
    status: str
    office_day: date
    address_name: str  # §34.3: first name and patronymic
    booked_at_local: datetime
    service_name: str
    specialist_name: str
    room_number: str
    floor: int
    room_place: str  # "кабинет 305, 3 этаж"
    route: str
    late_arrival: bool
    late_minutes: int
    checked_in_local: datetime
    rated: bool

    @property
    def greeting(self) -> str:
        return f"Здравствуйте, {self.address_name}!"

    @property
    def booked_time(self) -> str:
        return f"{self.booked_at_local:%H:%M}"

    @property
    def visit_sentence(self) -> str:
        """§5-6: a named actor and a concrete place."""
        return (
            f"Ваш приём в {self.booked_time}. Вас примет {self.specialist_name}, {self.room_place}."
        )

    @property
    def room_line(self) -> str:
        return self.room_place[:1].upper() + self.room_place[1:]

    @property
    def path(self) -> str:
        return TICKET_PATH.format(token=self.token)

    @property
    def status_text(self) -> str:
        """What the visitor should do now, in one sentence."""
        if self.status == TicketStatus.CALLED:
            # §5-6: a named actor, not an impersonal «Вас приглашают».
            return f"Вас ждёт {self.specialist_name}: {self.room_place}. {self.route}"
        if self.status == TicketStatus.IN_SERVICE:
            return f"Идёт приём: {self.room_place}."
        if self.status == TicketStatus.DONE:
            return "Приём завершён. Спасибо за визит."
        if self.status == TicketStatus.NO_SHOW:
            return (
                "Специалист вызывал вас, но вы не подошли. "
                "Подойдите к кабинету: специалист пригласит вас, как только освободится."
            )
        return (
            f"Ожидайте вызова. Вас примет {self.specialist_name}, {self.room_place}: "
            "когда номер талона появится на табло, пройдите в кабинет."
        )

    @property
    def day_words(self) -> str:
        return date_with_weekday(self.office_day)


# A ticket's words come from four tables; the columns are labelled so that one row
# carries them beside whatever else a statement reads (the check-in reads them with the
# booking it locks, the print with the ticket it prints).
WORD_COLUMNS: tuple[ColumnElement[Any], ...] = (
    col(Client.first_name).label("client_first_name"),
    col(Client.patronymic).label("client_patronymic"),
    col(Client.surname).label("client_surname"),
    col(Service.name).label("service_name"),
    col(Staff.first_name).label("staff_first_name"),
    col(Staff.patronymic).label("staff_patronymic"),
    col(Staff.surname).label("staff_surname"),
    col(Room.number).label("room_number"),
    col(Room.floor).label("room_floor"),
    col(Room.kind).label("room_kind"),
    col(Room.route).label("room_route"),
)
_TICKET_COLUMNS: tuple[ColumnElement[Any], ...] = (
    col(Ticket.id).label("ticket_id"),
    col(Ticket.number).label("number"),
    col(Ticket.token).label("token"),
    col(Ticket.status).label("status"),
    col(Ticket.office_day).label("office_day"),
    col(Ticket.booked_at).label("booked_at"),
    col(Ticket.checked_in_at).label("checked_in_at"),
    col(Ticket.late_arrival).label("late_arrival"),
    exists().where(col(Rating.ticket_id) == col(Ticket.id)).label("rated"),
)


def with_words(
    statement: Select[Any],
    *,
    client_id: Mapped[int],
    service_id: Mapped[int],
    staff_id: Mapped[int],
    room_id: Mapped[int],
) -> Select[Any]:
    """Join the four tables of WORD_COLUMNS to a statement, on its columns of their ids."""
    return (
        statement.join(Client, col(Client.id) == client_id)
        .join(Service, col(Service.id) == service_id)
        .join(Staff, col(Staff.id) == staff_id)
        .join(Room, col(Room.id) == room_id)
    )


def ticket_info_select(*extra: ColumnElement[Any]) -> Select[Any]:
    """SELECT what ticket_info_of() needs and `extra`, FROM ticket; the caller adds WHERE."""
    return with_words(
        sa_select(*_TICKET_COLUMNS, *WORD_COLUMNS, *extra).select_from(Ticket),
        client_id=col(Ticket.client_id),
        service_id=col(Ticket.service_id),
        staff_id=col(Ticket.staff_id),
        room_id=col(Ticket.room_id),
    )


# Built once: a statement made per call costs more Python than the database's work.
_BY_ID = ticket_info_select().where(col(Ticket.id) == bindparam("ticket_id"))
_BY_TOKEN = ticket_info_select().where(col(Ticket.token) == bindparam("token"))
_OF_DAY = (
    ticket_info_select()
    .where(col(Ticket.office_day) == bindparam("day"))
    .order_by(col(Ticket.checked_in_at))
)


def _worded(model: type[SQLModel], wording: str, **fields: object) -> str:
    """A model's wording property (Client.address_name, Room.place ...) read off plain values.

    The rule stays in the model, written once; no ORM object is loaded or built for it.
    """
    getter = vars(model)[wording].fget
    return str(getter(SimpleNamespace(**fields)))


def ticket_info_new(
    calendar: WorkCalendar,
    words: Row[Any],
    *,
    ticket_id: int,
    number: str,
    token: str,
    status: str,
    office_day: date,
    booked_at: datetime,
    checked_in_at: datetime,
    late_arrival: bool,
    rated: bool,
) -> TicketInfo:
    """Describe a ticket from a row of WORD_COLUMNS and the ticket's own values."""
    late = max(0, int((checked_in_at - booked_at).total_seconds() // 60))
    return TicketInfo(
        ticket_id=ticket_id,
        number=number,
        token=token,
        status=status,
        office_day=office_day,
        address_name=_worded(
            Client,
            "address_name",
            first_name=words.client_first_name,
            patronymic=words.client_patronymic,
            surname=words.client_surname,
        ),
        booked_at_local=calendar.to_local(booked_at),
        service_name=words.service_name,
        specialist_name=_worded(
            Staff,
            "full_name",
            first_name=words.staff_first_name,
            patronymic=words.staff_patronymic,
            surname=words.staff_surname,
        ),
        room_number=words.room_number,
        floor=words.room_floor,
        room_place=_worded(
            Room, "place", kind=words.room_kind, number=words.room_number, floor=words.room_floor
        ),
        route=words.room_route,
        late_arrival=late_arrival,
        late_minutes=late if late_arrival else 0,
        checked_in_local=calendar.to_local(checked_in_at),
        rated=rated,
    )


def ticket_info_of(calendar: WorkCalendar, row: Row[Any]) -> TicketInfo:
    """Describe a ticket from a row of ticket_info_select()."""
    return ticket_info_new(
        calendar,
        row,
        ticket_id=row.ticket_id,
        number=row.number,
        token=row.token,
        status=row.status,
        office_day=row.office_day,
        booked_at=row.booked_at,
        checked_in_at=row.checked_in_at,
        late_arrival=row.late_arrival,
        rated=bool(row.rated),
    )


def ticket_info(session: Session, calendar: WorkCalendar, ticket: Ticket) -> TicketInfo:
    """Describe a ticket with its current room and specialist (they change on transfer)."""
    assert ticket.id is not None
    return ticket_info_by_id(session, calendar, ticket_id=ticket.id)


def ticket_info_by_id(session: Session, calendar: WorkCalendar, *, ticket_id: int) -> TicketInfo:
    """Describe a ticket by its id, as it stands in the database now."""
    # One Core query, not five ORM loads: this runs on every reprint and every ticket page.
    row = session.connection().execute(_BY_ID, {"ticket_id": ticket_id}).one()
    return ticket_info_of(calendar, row)


def ticket_page(session: Session, calendar: WorkCalendar, *, token: str) -> TicketInfo:
    """Return the ticket behind an unguessable page token, or raise NotFound."""
    row = None
    if token and len(token) <= 64:
        row = session.connection().execute(_BY_TOKEN, {"token": token}).first()
    if row is None:
        raise NotFound("Такого талона нет. Проверьте ссылку или QR-код на талоне.")
    return ticket_info_of(calendar, row)


def tickets_of_day(session: Session, calendar: WorkCalendar, *, day: date) -> list[TicketInfo]:
    """Every ticket of an office day, in check-in order (for reprints by the administrator)."""
    rows = session.connection().execute(_OF_DAY, {"day": day}).all()
    return [ticket_info_of(calendar, row) for row in rows]
