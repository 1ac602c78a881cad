"""Clients: registration with consent and channels (§3), search, phone rules."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput, NotFound
from visits.models import Channel, Client, HistoryKind, Staff
from visits.services.history import history_record

log = logging.getLogger(__name__)

# Russian numbers: +7 / 8 and ten digits. Mobile numbers start with 9;
# city numbers carry an area code (Novosibirsk 383). A bare seven-digit
# Novosibirsk number (238-60-02) gets the city code.
_CITY_CODE = "383"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' -]*$")


def phone_normalise(raw: str) -> str:
    """Return +7XXXXXXXXXX for a Russian mobile or city number, or raise InvalidInput."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 7:
        digits = "7" + _CITY_CODE + digits
    elif len(digits) == 10:
        digits = "7" + digits
    elif len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    else:
        raise InvalidInput(
            "Номер телефона должен быть российским: +7 и 10 цифр, например +7 913 123-45-67.",
            field="phone",
        )
    # Area codes start with 3, 4, 8 (city) or 9 (mobile); 0, 1, 2, 5, 6, 7 are not Russian.
    if digits[1] not in "3489":
        raise InvalidInput(
            "Такого номера в России нет. Проверьте код: мобильный начинается с 9, "
            "городской Новосибирска — с 383.",
            field="phone",
        )
    return "+" + digits


def phone_display(phone: str) -> str:
    """+79131234567 -> +7 913 123-45-67."""
    if len(phone) != 12:
        return phone
    return f"+7 {phone[2:5]} {phone[5:8]}-{phone[8:10]}-{phone[10:12]}"


def email_normalise(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not _EMAIL.match(value):
        raise InvalidInput("Адрес почты должен быть вида name@example.ru.", field="email")
    return value.lower()


def _name(raw: str, field: str, label: str, *, required: bool = True) -> str:
    value = " ".join((raw or "").split())
    if not value:
        if required:
            raise InvalidInput(f"Укажите {label}.", field=field)
        return ""
    if not _NAME.match(value) or len(value) > 100:
        raise InvalidInput(
            f"Проверьте {label}: допустимы только буквы, пробел и дефис.", field=field
        )
    return value[0].upper() + value[1:]


def _channels(
    channel: str | None, second: str | None, *, email: str | None
) -> tuple[str, str | None]:
    valid = {c.value for c in Channel}
    if not channel:
        raise InvalidInput(
            "Выберите способ связи: SMS, электронная почта или звонок.", field="channel"
        )
    if channel not in valid or (second and second not in valid):
        raise InvalidInput("Такого способа связи нет.", field="channel")
    second = second or None
    if second == channel:
        second = None
    if Channel.EMAIL.value in (channel, second) and not email:
        raise InvalidInput("Для связи по почте укажите адрес электронной почты.", field="email")
    return channel, second


def client_register(
    *,
    session: Session,
    surname: str,
    first_name: str,
    patronymic: str,
    phone: str,
    email: str | None,
    channel: str | None,
    second_channel: str | None,
    consent: bool,
    allow_early_messages: bool = False,
    staff: Staff | None = None,
) -> Client:
    """Register a client with the chosen channels and recorded consent (§3)."""
    client = Client(
        surname=_name(surname, "surname", "фамилию"),
        first_name=_name(first_name, "first_name", "имя"),
        patronymic=_name(patronymic, "patronymic", "отчество", required=False),
        phone=phone_normalise(phone),
        email=email_normalise(email),
        channel="",
        consent_at=utcnow(),
        allow_early_messages=allow_early_messages,
    )
    client.channel, client.second_channel = _channels(channel, second_channel, email=client.email)
    if not consent:
        raise InvalidInput(
            "Без согласия на обработку персональных данных записать нельзя. "
            "Спросите согласие клиента и отметьте его.",
            field="consent",
        )
    with write_transaction(session):
        session.add(client)
        session.flush()
        assert client.id is not None
        history_record(
            session,
            client_id=client.id,
            kind=HistoryKind.CLIENT_REGISTERED,
            staff=staff,
            summary=f"Клиент зарегистрирован. Способ связи: {client.channel}"
            + (f", дополнительно: {client.second_channel}" if client.second_channel else "")
            + ". Согласие на обработку персональных данных получено.",
        )
    log.info("client registered: id=%s phone=%s", client.id, client.masked_phone)
    return client


def client_search(*, session: Session, query: str, limit: int = 20) -> list[Client]:
    """Find clients by phone (any format) or by the start of the surname."""
    text = " ".join((query or "").split())
    if not text:
        return []
    digits = re.sub(r"\D", "", text)
    base = select(Client).where(col(Client.merged_into_id).is_(None))
    if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) - 4:
        tail = digits[-10:] if len(digits) >= 10 else digits
        stmt = base.where(col(Client.phone).contains(tail))
    else:
        surname = text.split(" ")[0]
        stmt = base.where(
            or_(
                func.lower(Client.surname).startswith(surname.lower()),
                col(Client.surname).startswith(surname.capitalize()),
            )
        )
    return list(session.exec(stmt.order_by(Client.surname, Client.first_name).limit(limit)).all())


def client_get(*, session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("Клиент не найден.")
    return client
