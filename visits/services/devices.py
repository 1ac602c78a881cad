"""Devices: kiosks, hallway displays and tablets pair once with a one-time code."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from printer import CHARS_PER_LINE, PAPER_WIDTHS_MM, PROFILES, uri_can_confirm
from printer.profiles import DEFAULT_DOTS, max_chars
from visits.calendar import utcnow
from visits.db import write_transaction
from visits.errors import InvalidInput, NotFound
from visits.models import Device, DeviceKind, Room
from visits.services.staff import token_hash

log = logging.getLogger(__name__)

# The name column's length: a longer name is refused with a message, not by the database.
DEVICE_NAME_MAX = 100
PAIRING_CODE_TTL = timedelta(hours=24)
# Digits only: typed once on a touchscreen without a keyboard.
PAIRING_CODE_DIGITS = 8


def device_create(
    *,
    session: Session,
    kind: DeviceKind,
    name: str,
    spot_key: str | None = None,
    room_number: str | None = None,
    printer_uri: str | None = None,
    printer_profile: str = "TM-T20II",
    printer_native_qr: bool | None = None,
    printer_paper_mm: int | None = None,
    printer_width_chars: int | None = None,
    printer_confirms: bool | None = None,
) -> tuple[Device, str]:
    """Register a device; return it with its one-time pairing code.

    The printer's paper, columns, native QR and status answers default to what its
    model can do (printer.PROFILES); each can be set otherwise.
    """
    _device_name_check(name)
    printer = printer_settings_checked(
        profile=printer_profile,
        uri=printer_uri,
        paper_mm=printer_paper_mm,
        width_chars=printer_width_chars,
        native_qr=printer_native_qr,
        confirms=printer_confirms,
    )
    with write_transaction(session):
        room_id = None
        if room_number:
            room = session.exec(select(Room).where(Room.number == room_number)).first()
            if room is None:
                raise NotFound(f"Кабинета {room_number} нет в настройках офиса.", field="room")
            room_id = room.id
        if kind == DeviceKind.TABLET and room_id is None:
            raise InvalidInput("Для планшета укажите кабинет.", field="room")
        if kind == DeviceKind.DISPLAY and not spot_key:
            raise InvalidInput("Для табло укажите место, где оно висит.", field="spot")
        device = Device(
            kind=kind.value,
            name=name.strip(),
            spot_key=spot_key,
            room_id=room_id,
            printer_uri=printer_uri,
            printer_profile=printer.profile,
            printer_native_qr=printer.native_qr,
            printer_paper_mm=printer.paper_mm,
            printer_width_chars=printer.width_chars,
            printer_confirms=printer.confirms,
        )
        code = _new_pairing_code()
        device.pairing_code_hash = token_hash(code)
        device.pairing_expires_at = utcnow() + PAIRING_CODE_TTL
        session.add(device)
    log.info("device created: %s %r", kind.value, name)
    return device, code


@dataclass(frozen=True)
class PrinterChoice:
    profile: str
    paper_mm: int
    width_chars: int
    native_qr: bool
    confirms: bool


def printer_settings_checked(
    *,
    profile: str,
    uri: str | None = None,
    paper_mm: int | None = None,
    width_chars: int | None = None,
    native_qr: bool | None = None,
    confirms: bool | None = None,
) -> PrinterChoice:
    """Fill a kiosk printer's settings from its model and check they fit its paper."""
    model = PROFILES.get(profile)
    if model is None:
        raise InvalidInput(f"Модель принтера {profile} не поддерживается.", field="printer_profile")
    paper = paper_mm or model.paper_mm
    if paper not in PAPER_WIDTHS_MM:
        raise InvalidInput("Ширина бумаги: 58 или 80 мм.", field="printer_paper_mm")
    if paper > model.paper_mm:
        raise InvalidInput(
            f"Принтер {profile} печатает на бумаге шириной {model.paper_mm} мм.",
            field="printer_paper_mm",
        )
    if width_chars is None:
        width_chars = (
            model.chars_per_line
            if paper == model.paper_mm
            else max(c for c in CHARS_PER_LINE if c <= max_chars(DEFAULT_DOTS[paper]))
        )
    if width_chars not in CHARS_PER_LINE:
        raise InvalidInput("Знаков в строке: 32, 42 или 48.", field="printer_width_chars")
    dots = model.dots if paper == model.paper_mm else DEFAULT_DOTS[paper]
    if width_chars > max_chars(dots):
        # The printer would wrap such lines itself, mid-word.
        raise InvalidInput(
            f"На бумаге {paper} мм принтер {profile} печатает не больше "
            f"{max_chars(dots)} знаков в строке.",
            field="printer_width_chars",
        )
    can_answer = uri_can_confirm(uri or "")
    return PrinterChoice(
        profile=profile,
        paper_mm=paper,
        width_chars=width_chars,
        native_qr=model.native_qr if native_qr is None else native_qr,
        confirms=can_answer and (model.answers_status if confirms is None else confirms),
    )


def _device_name_check(name: str) -> None:
    """A name is given and fits its column (a longer one is refused here, not by the database)."""
    if not name.strip():
        raise InvalidInput("Укажите название устройства.", field="name")
    if len(name.strip()) > DEVICE_NAME_MAX:
        raise InvalidInput(
            f"Название устройства — не длиннее {DEVICE_NAME_MAX} символов.", field="name"
        )


def device_new_pairing_code(*, session: Session, device_id: int) -> str:
    """Issue a fresh pairing code; the old token stops working."""
    with write_transaction(session):
        device = session.get(Device, device_id)
        if device is None:
            raise NotFound("Устройство не найдено.")
        code = _new_pairing_code()
        device.pairing_code_hash = token_hash(code)
        device.pairing_expires_at = utcnow() + PAIRING_CODE_TTL
        device.token_hash = None
        session.add(device)
    return code


def device_pair(*, session: Session, code: str) -> tuple[Device, str]:
    """Exchange a one-time pairing code for a long-lived device token."""
    cleaned = "".join(ch for ch in code if ch.isdigit())
    if len(cleaned) != PAIRING_CODE_DIGITS:
        raise InvalidInput(f"Код привязки состоит из {PAIRING_CODE_DIGITS} цифр.", field="code")
    with write_transaction(session):
        device = session.exec(
            select(Device).where(
                Device.pairing_code_hash == token_hash(cleaned), col(Device.active).is_(True)
            )
        ).first()
        if (
            device is None
            or device.pairing_expires_at is None
            or device.pairing_expires_at < utcnow()
        ):
            log.warning("device pairing refused: unknown or expired code")
            raise InvalidInput(
                "Код не подошёл или устарел. Попросите администратора выдать новый.", field="code"
            )
        token = secrets.token_urlsafe(32)
        device.token_hash = token_hash(token)
        device.pairing_code_hash = None
        device.pairing_expires_at = None
        device.paired_at = device.last_seen_at = utcnow()
        session.add(device)
    log.info("device paired: %s %r", device.kind, device.name)
    return device, token


# Built once: every request of a kiosk, display and tablet looks its device up.
_BY_TOKEN_HASH = select(Device).where(col(Device.token_hash) == bindparam("token_hash"))


def device_by_token(*, session: Session, token: str, kind: DeviceKind) -> Device | None:
    """Return the active device of that kind for a token, touching its last contact time."""
    found = session.execute(_BY_TOKEN_HASH, {"token_hash": token_hash(token)})
    device: Device | None = found.scalars().first()
    if device is None or not device.active or device.kind != kind.value:
        return None
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(seconds=30):
        with write_transaction(session):
            device.last_seen_at = now
            session.add(device)
    return device


def _new_pairing_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PAIRING_CODE_DIGITS))
