"""What a ticket says to its visitor: on the kiosk, on paper and on its own page /t/<token>."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

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


def ticket_info(session: Session, calendar: WorkCalendar, ticket: Ticket) -> TicketInfo:
    """Describe a ticket with its current room and specialist (they change on transfer)."""
    assert ticket.id is not None
    # One query, not five: this runs on every check-in and every ticket printed.
    client, service, staff, room, rated = session.execute(
        sa_select(
            Client,
            Service,
            Staff,
            Room,
            sa_select(col(Rating.id)).where(col(Rating.ticket_id) == ticket.id).exists(),
        )
        .select_from(Ticket)
        .join(Client, col(Client.id) == col(Ticket.client_id))
        .join(Service, col(Service.id) == col(Ticket.service_id))
        .join(Staff, col(Staff.id) == col(Ticket.staff_id))
        .join(Room, col(Room.id) == col(Ticket.room_id))
        .where(col(Ticket.id) == ticket.id)
    ).one()
    late = max(0, int((ticket.checked_in_at - ticket.booked_at).total_seconds() // 60))
    return TicketInfo(
        ticket_id=ticket.id,
        number=ticket.number,
        token=ticket.token,
        status=ticket.status,
        office_day=ticket.office_day,
        address_name=client.address_name,
        booked_at_local=calendar.to_local(ticket.booked_at),
        service_name=service.name,
        specialist_name=staff.full_name,
        room_number=room.number,
        floor=room.floor,
        room_place=room.place,
        route=room.route,
        late_arrival=ticket.late_arrival,
        late_minutes=late if ticket.late_arrival else 0,
        checked_in_local=calendar.to_local(ticket.checked_in_at),
        rated=bool(rated),
    )


def ticket_page(session: Session, calendar: WorkCalendar, *, token: str) -> TicketInfo:
    """Return the ticket behind an unguessable page token, or raise NotFound."""
    ticket = None
    if token and len(token) <= 64:
        ticket = session.exec(select(Ticket).where(Ticket.token == token)).first()
    if ticket is None:
        raise NotFound("Такого талона нет. Проверьте ссылку или QR-код на талоне.")
    return ticket_info(session, calendar, ticket)


def tickets_of_day(session: Session, calendar: WorkCalendar, *, day: date) -> list[TicketInfo]:
    """Every ticket of an office day, in check-in order (for reprints by the administrator)."""
    rows = session.exec(
        select(Ticket).where(Ticket.office_day == day).order_by(Ticket.checked_in_at)  # type: ignore[arg-type]
    ).all()
    return [ticket_info(session, calendar, row) for row in rows]
