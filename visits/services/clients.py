"""Clients: registration with consent and channels (§3), search, phone rules."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session, col, select

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import Conflict, InvalidInput, NotFound
from visits.models import (
    CHANNEL_LABELS,
    Channel,
    Client,
    HistoryKind,
    Staff,
)
from visits.phones import phone_check_sms
from visits.phones import phone_display as phone_display
from visits.phones import phone_normalise as phone_normalise
from visits.queries.clients import client_search as client_search
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' -]*$")


def email_normalise(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput("Адрес почты должен быть вида name@example.ru.", field="email")
    return value.lower()


def name_normalise(raw: str, field: str, label: str, *, required: bool = True) -> str:
    """A surname, first name or patronymic tidied and capitalised; InvalidInput naming `field`."""
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


def channels_check(
    channel: str | None, second: str | None, *, email: str | None, phone: str | None = None
) -> tuple[str, str | None]:
    """§3: the chosen channel and the optional second one, each reachable; InvalidInput if not."""
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
    if phone and Channel.SMS.value in (channel, second):
        phone_check_sms(phone, field="second_channel" if second == Channel.SMS else "channel")
    return channel, second


class ClientInvalid(InvalidInput):
    """Bad registration input: `errors` maps each bad field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


T = TypeVar("T")


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
    city_code: str | None = None,
) -> Client:
    """Register a client with the chosen channels and recorded consent (§3).

    Every field is checked before anything is saved; ClientInvalid carries the
    message of each bad field, so a form can show them all at once.
    """
    client = _client_checked(
        surname=surname,
        first_name=first_name,
        patronymic=patronymic,
        phone=phone,
        email=email,
        channel=channel,
        second_channel=second_channel,
        consent=consent,
        allow_early_messages=allow_early_messages,
        city_code=city_code,
    )
    with write_transaction(session):
        _refuse_duplicate(session, client)
        session.add(client)
        session.flush()
        assert client.id is not None
        channels = ", дополнительно: ".join(CHANNEL_LABELS[Channel(c)] for c in client.channels)
        history_record(
            session,
            client_id=client.id,
            kind=HistoryKind.CLIENT_REGISTERED,
            staff=staff,
            summary=f"Клиент зарегистрирован. Способ связи: {channels}. "
            "Согласие на обработку персональных данных получено.",
        )
    log.info("client registered: id=%s phone=%s", client.id, client.masked_phone)
    return client


def _client_checked(
    *,
    surname: str,
    first_name: str,
    patronymic: str,
    phone: str,
    email: str | None,
    channel: str | None,
    second_channel: str | None,
    consent: bool,
    allow_early_messages: bool,
    city_code: str | None,
) -> Client:
    """Build an unsaved client from the form, or raise ClientInvalid naming every bad field."""
    errors: dict[str, str] = {}

    def check(field: str, fn: Callable[[], T], fallback: T) -> T:
        try:
            return fn()
        except InvalidInput as exc:
            errors.setdefault(exc.field or field, exc.message)
            return fallback

    client = Client(
        surname=check("surname", lambda: name_normalise(surname, "surname", "фамилию"), ""),
        first_name=check("first_name", lambda: name_normalise(first_name, "first_name", "имя"), ""),
        patronymic=check(
            "patronymic",
            lambda: name_normalise(patronymic, "patronymic", "отчество", required=False),
            "",
        ),
        # `city_code` (the office file's) completes a bare local number.
        phone=check("phone", lambda: phone_normalise(phone, city_code=city_code), ""),
        email=check("email", lambda: email_normalise(email), None),
        channel="",
        consent_at=utcnow(),
        allow_early_messages=allow_early_messages,
    )
    no_channel: tuple[str, str | None] = ("", None)
    # A bad e-mail is reported already; check the channels as if it had been given.
    mail = client.email if "email" not in errors else "reported@example.ru"
    client.channel, client.second_channel = check(
        "channel",
        lambda: channels_check(channel, second_channel, email=mail, phone=client.phone or None),
        no_channel,
    )
    if not consent:
        errors["consent"] = (
            "Без согласия на обработку персональных данных записать нельзя. "
            "Спросите согласие клиента и отметьте его."
        )
    if errors:
        log.info("client not registered: %s", ", ".join(errors))
        raise ClientInvalid(errors)
    return client


def _refuse_duplicate(session: Session, client: Client) -> None:
    """One person, one record: the same phone with the same name is already registered.

    A shared phone (a family's landline) with another name is a different person.
    """
    same_phone = session.exec(
        select(Client).where(Client.phone == client.phone, col(Client.merged_into_id).is_(None))
    ).all()
    for other in same_phone:
        if (other.surname.lower(), other.first_name.lower()) == (
            client.surname.lower(),
            client.first_name.lower(),
        ):
            raise Conflict(
                f"Клиент {other.full_name} с этим телефоном уже зарегистрирован. "
                "Найдите его через поиск и откройте карточку.",
                code="client_exists",
                field="phone",
            )


def client_get(*, session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("Клиент не найден.")
    return client


def client_open(*, session: Session, client_id: int, staff: Staff | None) -> Client:
    """Open a client's card for a staff member; the audit log keeps who looked."""
    with write_transaction(session):
        client = session.get(Client, client_id)
        if client is None or client.merged_into_id is not None:
            raise NotFound("Клиент не найден. Найдите его через поиск.", field="client")
        audit_record(session, staff=staff, action="client.open", client_id=client.id)
    return client
