"""Russian message texts, in the neutral, concrete style of §5-6.

Each text names who acts and what happens: "Вас примет Мария Петровна
Иванова, кабинет 305, 3 этаж", never "приняли меры".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from visits.config import OfficeConfig
from visits.models import Client, Room, Service, Staff
from visits.ru import date_with_weekday


@dataclass(frozen=True)
class MessageText:
    subject: str
    body: str


def _phones(config: OfficeConfig) -> str:
    return " или ".join(config.office.phones)


def booking_confirmation(
    *,
    config: OfficeConfig,
    client: Client,
    service: Service,
    staff: Staff,
    room: Room,
    local_start: datetime,
    code: str,
) -> MessageText:
    """§31, §32: the confirmation says when, who, where, how to get there and how to cancel."""
    office = config.office
    documents = (
        ", ".join(d[0].lower() + d[1:] for d in service.documents) if service.documents else ""
    )
    lines = [
        f"{client.address_name}, вы записаны на приём {date_with_weekday(local_start)} "
        f"в {local_start:%H:%M}.",
        f"Вас примет {staff.full_name}, {room.place}.",
        f"Вопрос: {service.name}.",
        f"Адрес: {office.address}. {office.how_to_get_there}",
        f"Вход: {office.entrance}",
        f"Как пройти к кабинету: {room.route}",
        f"Код записи: {code}. Введите его или покажите QR-код в терминале у входа "
        f"не раньше чем за {office.checkin_opens_minutes_before} минут до приёма.",
    ]
    if documents:
        lines.append(f"Возьмите с собой: {documents}.")
    lines.append(f"Отменить запись можно по телефону {_phones(config)}.")
    return MessageText(
        subject=f"Запись на приём {local_start:%d.%m.%Y} в {local_start:%H:%M}",
        body="\n".join(lines),
    )


def booking_cancellation(
    *, config: OfficeConfig, client: Client, service: Service, local_start: datetime
) -> MessageText:
    body = (
        f"{client.address_name}, ваша запись на приём {date_with_weekday(local_start)} "
        f"в {local_start:%H:%M} отменена. Вопрос: {service.name}.\n"
        f"Записаться снова можно по телефону {_phones(config)}."
    )
    return MessageText(subject=f"Запись на {local_start:%d.%m.%Y} отменена", body=body)


def room_change(*, client: Client, ticket_number: str, room: Room, route: str) -> MessageText:
    """A room change on the day of the visit (transfer §23, meeting room §35)."""
    body = (
        f"{client.address_name}, ваш приём по талону {ticket_number} продолжится: {room.place}. "
        f"Как пройти: {route}"
    )
    return MessageText(subject=f"Талон {ticket_number}: {room.place}", body=body)


def visit_final(
    *, config: OfficeConfig, client: Client, staff: Staff, ticket_number: str, survey_url: str
) -> MessageText:
    """§17: the final written message carries the link to the satisfaction survey."""
    body = (
        f"{client.address_name}, спасибо за визит. Вас принял(а) {staff.full_name}, талон {ticket_number}.\n"
        f"Оцените, пожалуйста, приём: {survey_url}\n"
        f"Вопросы можно задать по телефону {_phones(config)}."
    )
    return MessageText(subject="Оцените визит в департамент", body=body)
