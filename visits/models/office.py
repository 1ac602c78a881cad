"""The office itself: rooms, services and staff, synced from the config file."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field, json_field


class RoomKind(StrEnum):
    OFFICE = "office"
    MEETING = "meeting"
    HALL = "hall"


class Room(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=10, unique=True, index=True)
    floor: int
    kind: str = Field(default=RoomKind.OFFICE.value, max_length=20)
    name: str = Field(default="", max_length=200)
    # §31: how to get there from the lobby.
    route: str = Field(default="", max_length=500)
    active: bool = True

    @property
    def place(self) -> str:
        """Human words for the place: "кабинет 305, 3 этаж"."""
        word = "переговорная" if self.kind == RoomKind.MEETING else "кабинет"
        return f"{word} {self.number}, {self.floor} этаж"

    @property
    def place_to(self) -> str:
        """Where to go, in the accusative: "в кабинет 305, 3 этаж", "в переговорную 311, 3 этаж"."""
        word = "переговорную" if self.kind == RoomKind.MEETING else "кабинет"
        return f"в {word} {self.number}, {self.floor} этаж"


class Service(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True, index=True)
    name: str = Field(max_length=200)
    letter: str = Field(max_length=1, unique=True)
    duration_minutes: int
    documents: list[str] = json_field(list)
    active: bool = True


class Role(StrEnum):
    OPERATOR = "operator"
    SPECIALIST = "specialist"
    ADMINISTRATOR = "administrator"


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=32, unique=True, index=True)
    surname: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    patronymic: str = Field(default="", max_length=100)
    position: str = Field(default="", max_length=200)
    unit: str = Field(default="", max_length=200, index=True)
    unit_head: bool = False
    room_id: int | None = Field(default=None, foreign_key="room.id")
    roles: list[str] = json_field(list)
    password_hash: str | None = Field(default=None, max_length=200)
    failed_logins: int = 0
    locked_until: datetime | None = None
    active: bool = True
    created_at: datetime = created_at_field()

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles

    @property
    def full_name(self) -> str:
        """ "Мария Петровна Иванова": how a visitor hears the name (§5-6 example)."""
        return " ".join(p for p in (self.first_name, self.patronymic, self.surname) if p)

    @property
    def short_name(self) -> str:
        """ "Иванова М. П." for lists."""
        initials = "".join(f"{p[0]}. " for p in (self.first_name, self.patronymic) if p)
        return f"{self.surname} {initials}".strip()


class StaffService(SQLModel, table=True):
    """Which staff member serves which service."""

    __table_args__ = (UniqueConstraint("staff_id", "service_id"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
