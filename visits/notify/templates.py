"""Russian message texts, in the neutral, concrete style of §5-6.

Each text names who acts and what happens: "Вас примет Мария Петровна
Иванова, кабинет 305, 3 этаж", never "приняли меры".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from visits.config import OfficeConfig
from visits.models import Client, Room, Service, Staff
from visits.ru import (
    MONTHS_GENITIVE,
    Case,
    by_gender_of,
    date_with_weekday,
    decline_name,
    minutes_phrase,
)
from visits.style import style_problems as style_problems


@dataclass(frozen=True)
class MessageText:
    """One message in its forms: e-mail (subject + body), SMS (short), phone (what to say).

    `sms` and `call` are empty when the body itself fits; the outbox picks the
    form for each channel (visits.notify.outbox).
    """

    subject: str
    body: str
    sms: str = ""
    # What the phone operator does, after "Позвонить Ивану Петровичу, +7...: ".
    call: str = ""


def phones_phrase(config: OfficeConfig) -> str:
    """§19, §28, §32: the lines' numbers always with their hours: "238-60-02 или 238-60-62 (пн–чт ...)"."""
    return f"{' или '.join(config.office.phones)} ({config.line_hours()})"


def _phone_short(config: OfficeConfig) -> str:
    """One number with the hours, for an SMS."""
    return f"{config.office.phones[0]} ({config.line_hours()})"


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
    documents = ", ".join(_mid_sentence(d) for d in service.documents)
    lines = [
        f"{client.address_name}, вы записаны на приём {date_with_weekday(local_start)} "
        f"в {local_start:%H:%M}.",
        f"Вас примет {staff.full_name}, {room.place}.",
        f"Вопрос: {service.name}.",
        f"Адрес: {office.address}. {office.how_to_get_there}",
        f"Вход: {office.entrance}",
        f"Как пройти к кабинету: {room.route}",
        f"Код записи: {code}. Введите его или покажите QR-код в терминале у входа "
        f"не раньше чем за {minutes_phrase(office.checkin_opens_minutes_before)} до приёма.",
    ]
    if documents:
        lines.append(f"Возьмите с собой: {documents}.")
    lines.append(f"Отменить запись можно по телефону {phones_phrase(config)}.")
    return MessageText(
        subject=f"Запись на приём {local_start:%d.%m.%Y} в {local_start:%H:%M}",
        body="\n".join(lines),
        sms=f"{client.address_name}, вы записаны на приём {local_start:%d.%m} в "
        f"{local_start:%H:%M}. Вас примет {staff.full_name}, {room.place}, {office.address}. "
        f"Код записи {code}. Отменить запись: {_phone_short(config)}.",
        call=f"подтвердить запись на {local_start:%d.%m.%Y} в {local_start:%H:%M} "
        f"({staff.full_name}, {room.place}) и назвать код записи {code}",
    )


def _mid_sentence(item: str) -> str:
    """ "Паспорт" -> "паспорт" inside a list, but "ЕГРН ..." stays as it is."""
    if len(item) > 1 and item[1].isupper():
        return item
    return item[:1].lower() + item[1:]


def survey_line(config: OfficeConfig) -> str:
    """§17: a final written message carries the link to the satisfaction survey."""
    url = config.office.survey_url
    return f"\nОцените, пожалуйста, как мы с вами работали: {url}" if url else ""


def booking_cancellation(
    *, config: OfficeConfig, client: Client, service: Service, local_start: datetime
) -> MessageText:
    """§32, §5-6: who cancelled what, and how to book again."""
    body = (
        f"{client.address_name}, мы отменили вашу запись на приём "
        f"{date_with_weekday(local_start)} в {local_start:%H:%M}. Вопрос: {service.name}.\n"
        f"Записаться снова можно по телефону {phones_phrase(config)}." + survey_line(config)
    )
    return MessageText(
        subject=f"Мы отменили вашу запись на {local_start:%d.%m.%Y}",
        body=body,
        call=f"сообщить, что запись на {local_start:%d.%m.%Y} в {local_start:%H:%M} отменена",
    )


def room_change(*, client: Client, ticket_number: str, room: Room, route: str) -> MessageText:
    """A room change on the day of the visit (transfer §23, meeting room §35)."""
    body = (
        f"{client.address_name}, ваш приём по талону {ticket_number} продолжится: {room.place}. "
        f"Как пройти: {route}"
    )
    return MessageText(
        subject=f"Талон {ticket_number}: {room.place}",
        body=body,
        call=f"сообщить, что приём по талону {ticket_number} продолжится: {room.place}",
    )


def visit_final(
    *, config: OfficeConfig, client: Client, staff: Staff, ticket_number: str, survey_url: str
) -> MessageText:
    """§17: the final written message carries the link to the satisfaction survey."""
    body = (
        f"{client.address_name}, спасибо за визит. "
        f"Вас {by_gender_of(staff, 'принял', 'приняла')} {staff.full_name}, талон {ticket_number}.\n"
        f"Оцените, пожалуйста, приём: {survey_url}\n"
        f"Вопросы можно задать по телефону {phones_phrase(config)}."
    )
    return MessageText(subject="Оцените визит в департамент", body=body)


def _day_words(local_start: datetime, local_send: datetime) -> str:
    """ "сегодня" / "завтра" / "15 декабря", as seen on the day the reminder goes."""
    days = (local_start.date() - local_send.date()).days
    if days == 0:
        return "сегодня"
    if days == 1:
        return "завтра"
    return f"{local_start.day} {MONTHS_GENITIVE[local_start.month - 1]}"


def booking_reminder(
    *,
    config: OfficeConfig,
    client: Client,
    staff: Staff,
    room: Room,
    local_start: datetime,
    local_send: datetime,
    code: str,
) -> MessageText:
    """§30: a reminder a day or two hours before the visit; "завтра"/"сегодня" as of sending."""
    when = f"{_day_words(local_start, local_send)} в {local_start:%H:%M}"
    office = config.office
    body = (
        f"{client.address_name}, {when} вас примет {staff.full_name}, {room.place}.\n"
        f"Адрес: {office.address}. Вход: {office.entrance}\n"
        f"Код записи: {code}. Покажите QR-код или введите код в терминале у входа.\n"
        f"Если планы изменились, отмените запись по телефону {phones_phrase(config)}."
    )
    return MessageText(
        subject=f"Приём {when}: {room.place}",
        body=body,
        sms=f"{client.address_name}, {when} вас примет {staff.full_name}, {room.place}, "
        f"{office.address}. Код записи {code}. Отменить запись: {_phone_short(config)}.",
        call=f"напомнить о приёме {when}: {staff.full_name}, {room.place}",
    )


def history_export_ready(*, config: OfficeConfig, client: Client, pickup: str) -> MessageText:
    """§4: the client asked for the history; say where to get it."""
    body = (
        f"{client.address_name}, выписка из истории вашего взаимодействия с департаментом готова. "
        f"{pickup}\nВопросы можно задать по телефону {phones_phrase(config)}." + survey_line(config)
    )
    return MessageText(
        subject="Выписка из истории взаимодействия готова",
        body=body,
        call=f"сообщить, что выписка из истории взаимодействия готова. {pickup}",
    )


# --- Call tasks for the phone operators -------------------------------------------------


def dative_first_name(name: str) -> str:
    """Иван -> Ивану, Любовь -> Любови, Игорь -> Игорю, Айгуль -> Айгуль (visits.ru)."""
    return decline_name(first_name=name, case=Case.DATIVE)


def dative_patronymic(patronymic: str) -> str:
    """Петрович -> Петровичу, Ильич -> Ильичу, Петровна -> Петровне."""
    return decline_name(patronymic=patronymic, case=Case.DATIVE)


def call_addressee(client: Client) -> str:
    """Whom to call, in the dative: "Ивану Петровичу" (§34.3: name and patronymic)."""
    if client.patronymic:
        # Declined together: the patronymic tells the gender of "Саша" or "Женя".
        return decline_name(
            first_name=client.first_name, patronymic=client.patronymic, case=Case.DATIVE
        )
    return f"клиенту {client.first_name} {client.surname}"


def call_task_text(*, client: Client, action: str) -> str:
    """ "Позвонить Ивану Петровичу, +79131234567: напомнить о приёме завтра в 10:30"."""
    return f"Позвонить {call_addressee(client)}, {client.phone}: {action}"


def call_after_failure_action(*, channel_label: str, subject: str, error: str) -> str:
    """What the operator does when a written message could not be sent."""
    return (
        f"сообщение «{subject}» не удалось отправить ({channel_label}: {error}). "
        "Прочитайте клиенту текст сообщения и проверьте адрес"
    )
