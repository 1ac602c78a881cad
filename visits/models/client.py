"""The client: the person who books and visits."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from visits.models.base import created_at_field


class Channel(StrEnum):
    """§3: the channel a client picks for further contact."""

    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"


CHANNEL_LABELS = {
    Channel.SMS: "SMS",
    Channel.EMAIL: "электронная почта",
    Channel.PHONE: "звонок по телефону",
}


class Client(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    surname: str = Field(max_length=100, index=True)
    first_name: str = Field(max_length=100)
    patronymic: str = Field(default="", max_length=100)
    # Normalised to +7XXXXXXXXXX (visits.phones.phone_normalise).
    phone: str = Field(max_length=12, index=True)
    email: str | None = Field(default=None, max_length=254)
    channel: str = Field(max_length=10)
    second_channel: str | None = Field(default=None, max_length=10)
    # §30: a "two hours before" reminder for a 09:00 visit may go at 07:00 only if allowed.
    allow_early_messages: bool = False
    consent_at: datetime
    consent_withdrawn_at: datetime | None = None
    merged_into_id: int | None = Field(default=None, foreign_key="client.id")
    notes: str = Field(default="", max_length=4000)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = None

    @property
    def address_name(self) -> str:
        """§34.3: first name and patronymic, never the first name or surname alone."""
        if self.patronymic:
            return f"{self.first_name} {self.patronymic}"
        # Without a patronymic the respectful form is the full name.
        return f"{self.first_name} {self.surname}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.first_name, self.patronymic) if p)

    @property
    def channels(self) -> list[str]:
        """The chosen channel and the optional second one (§3, §13, §16)."""
        result = [self.channel]
        if self.second_channel and self.second_channel != self.channel:
            result.append(self.second_channel)
        return result

    @property
    def masked_phone(self) -> str:
        """ "+7 *** ***-45-67": safe for logs and public screens."""
        return (
            f"+7 *** ***-{self.phone[-4:-2]}-{self.phone[-2:]}" if len(self.phone) == 12 else "***"
        )


class ClientNote(SQLModel, table=True):
    """A staff note on a client, shown before the visit (§34.4)."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    text: str = Field(max_length=4000)
    created_at: datetime = created_at_field()
