"""Registered devices: lobby kiosks, hallway displays, rating tablets."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    TABLET = "tablet"


class Device(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10, index=True)
    name: str = Field(max_length=100)
    # Display: the config spot where it hangs; tablet: the room it serves.
    spot_key: str | None = Field(default=None, max_length=50)
    room_id: int | None = Field(default=None, foreign_key="room.id")
    # Kiosk printer, chosen by URI (printer.transport_from_uri).
    printer_uri: str | None = Field(default=None, max_length=300)
    printer_profile: str = Field(default="TM-T20II", max_length=30)
    # Paper and columns come from the model (printer.PROFILES) and stay editable.
    printer_paper_mm: int = 80
    printer_width_chars: int = 42
    printer_native_qr: bool = True
    # False for a printer that cannot answer DLE EOT (a file, a dumb serial port):
    # its jobs are recorded as sent, not confirmed.
    printer_confirms: bool = True
    # The roll sensor's last answer: "ok", "near_end", "out", or "" before the first.
    printer_paper: str = Field(default="", max_length=10)
    printer_paper_at: datetime | None = None
    # Hashes only: the one-time pairing code and the long-lived device token.
    pairing_code_hash: str | None = Field(default=None, max_length=128, index=True)
    pairing_expires_at: datetime | None = None
    token_hash: str | None = Field(default=None, max_length=128, unique=True)
    paired_at: datetime | None = None
    last_seen_at: datetime | None = None
    printer_error: str = Field(default="", max_length=300)
    printer_error_at: datetime | None = None
    active: bool = True
    created_at: datetime = created_at_field()
