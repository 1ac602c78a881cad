"""The office configuration: one TOML file, validated at start-up.

A wrong file stops start-up with a message that names the key and what is
wrong (`ConfigError`), never with a traceback deep inside a request.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEMO_CONFIG_PATH = Path(__file__).with_name("demo_office.toml")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Role = Literal["operator", "specialist", "administrator"]
RoomKind = Literal["office", "meeting", "hall"]
Channel = Literal["sms", "email", "phone"]
Arrow = Literal["left", "right", "up", "down", "ahead", "back", "here"]

_CYRILLIC_LETTER = re.compile(r"^[А-ЯЁ]$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(Exception):
    """The configuration file cannot be used; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_time(value: object) -> object:
    """A TOML "09:00" string becomes a time once, here; a TOML local time passes as it is."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"ожидается время ЧЧ:ММ, получено {value!r}")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


# A local clock time of the office, written "ЧЧ:ММ" in the file.
ClockTime = Annotated[time, BeforeValidator(_parse_time)]


class WorkingHours(_Strict):
    """Hours of one or more weekdays, with the lunch break."""

    days: list[Weekday]
    open: ClockTime
    close: ClockTime
    lunch: tuple[ClockTime, ClockTime] | None = None

    @field_validator("lunch")
    @classmethod
    def _check_lunch(cls, value: tuple[time, time] | None) -> tuple[time, time] | None:
        if value is not None and value[1] <= value[0]:
            raise ValueError("перерыв должен кончаться позже, чем начинается")
        return value

    @model_validator(mode="after")
    def _check_order(self) -> WorkingHours:
        if self.close <= self.open:
            raise ValueError("close должно быть позже open")
        if self.lunch is not None and (self.lunch[0] < self.open or self.lunch[1] > self.close):
            raise ValueError("перерыв должен быть внутри рабочего времени")
        return self


class Office(_Strict):
    name: str = Field(min_length=3)
    short_name: str = Field(min_length=2)
    address: str = Field(min_length=5)
    how_to_get_there: str = Field(min_length=5)
    entrance: str = Field(min_length=5)
    phones: list[str] = Field(min_length=1)
    timezone: str = "Asia/Novosibirsk"
    # How the time zone is named to people: «Время новосибирское» under exports and histories.
    time_zone_label: str = Field(default="новосибирское", min_length=3)
    # The local area code: a bare seven-digit number is a city number of this code.
    city_code: str = Field(default="383", pattern=r"^\d{3,5}$")
    # Where visitors' phones open a ticket's page (its QR code, §31): required outside the
    # demo; `public_url_problem` names a missing or loopback address at start-up.
    public_base_url: str = ""
    # §17: the department's satisfaction survey, linked from every final written message
    # that has no visit of its own to rate (a cancellation, the history sent on request).
    survey_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    slot_minutes: int = Field(default=15, ge=5, le=60)
    booking_horizon_working_days: int = Field(default=30, ge=1, le=120)
    checkin_opens_minutes_before: int = Field(default=60, ge=0, le=240)
    late_checkin_grace_minutes: int = Field(default=15, ge=0, le=60)
    # §34.4: a call this many minutes or more after the booked time prompts an apology;
    # any lateness is apologised for, so the default is the first minute.
    apology_after_minutes: int = Field(default=1, ge=1, le=60)
    transferred_workday_hours_from: Weekday = "fri"


class CalendarOverrides(_Strict):
    """Local exceptions to the Russian production calendar."""

    extra_days_off: list[date] = []
    extra_working_days: list[date] = []


class Floor(_Strict):
    number: int
    name: str


class Room(_Strict):
    number: str = Field(min_length=1, max_length=10)
    floor: int
    kind: RoomKind = "office"
    name: str = ""
    route: str = Field(min_length=3, description="how to get there from the lobby (§31)")


class Service(_Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=3)
    letter: str
    duration_minutes: int = Field(ge=5, le=240)
    documents: list[str] = []

    @field_validator("letter")
    @classmethod
    def _check_letter(cls, value: str) -> str:
        if not _CYRILLIC_LETTER.match(value):
            raise ValueError("ожидается одна заглавная русская буква, например «А»")
        return value


class StaffMember(_Strict):
    login: str = Field(pattern=r"^[a-z][a-z0-9._-]{2,31}$")
    surname: str = Field(min_length=1)
    first_name: str = Field(min_length=1)
    patronymic: str = ""
    position: str = Field(min_length=2)
    unit: str = Field(min_length=2)
    room: str | None = None
    roles: list[Role] = Field(min_length=1)
    services: list[str] = []
    unit_head: bool = False


class DirectoryEntry(_Strict):
    """§26: a body that handles questions outside the department's remit."""

    name: str
    topics: str
    address: str
    phone: str
    hours: str = ""
    website: str = ""


class CallTopic(_Strict):
    """§18: a topic of the consultation line, as the operator picks it on the call card."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=3)
    # §23: the units whose staff answer this topic (they come first in the hand-over list).
    units: list[str] = []
    # The card asks which service the question is about (its specialists come first).
    asks_service: bool = False


def _default_topics() -> list[CallTopic]:
    """§18: hours and procedure, a service, an application's and a message's status."""
    return [
        CallTopic(key="hours", name="Время и порядок работы"),
        CallTopic(key="service", name="Государственная услуга", asks_service=True),
        CallTopic(key="application", name="Статус заявления", asks_service=True),
        CallTopic(key="message", name="Статус обращения"),
        CallTopic(key="booking", name="Запись на приём"),
        CallTopic(key="other", name="Другое"),
    ]


class Consultation(_Strict):
    """Part III: the consultation line (§18-27)."""

    # §19: the lines' hours as told with the numbers; empty: worked out from [[hours]].
    hours: str = ""
    # §24: the answer's deadline offered to a caller, in working days (the card may change it).
    callback_working_days: int = Field(default=2, ge=1, le=30)
    topics: list[CallTopic] = Field(default_factory=_default_topics, min_length=1)


class SpotRoute(_Strict):
    arrow: Arrow
    text: str


class Spot(_Strict):
    """A place where a hallway display hangs, with routes from there."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    floor: int
    name: str
    exit_route: SpotRoute | None = None
    routes: dict[str, SpotRoute] = {}


class Messaging(_Strict):
    """Outgoing channels, each an adapter chosen by a URI."""

    email_uri: str = "log://"
    sms_uri: str = "log://"
    email_from: str = "priyom@example.invalid"
    sms_max_length: int = Field(default=335, ge=70)
    day_window: tuple[ClockTime, ClockTime] = (time(9, 0), time(21, 0))
    max_attempts: int = Field(default=3, ge=1, le=20)
    # §30: where a client allowed early messages, the morning edge of the window.
    early_window_start: ClockTime = time(7, 0)
    # A reminder moved into the window must still leave this much time before the visit.
    reminder_min_lead_minutes: int = Field(default=60, ge=0, le=720)
    # Waits between attempts after a gateway or SMTP failure (the last one repeats).
    retry_delays_minutes: list[int] = Field(default=[2, 10, 30], min_length=1)
    # SMS gateway over HTTP (sms_uri = "https://sms.ru/sms/send"); "log://" writes to the log.
    # "smsru": SMS.ru's parameters (api_id, to, msg, json=1) and JSON answer; "plain":
    # the same parameters, any 2xx answer counts as accepted.
    sms_format: Literal["smsru", "plain"] = "smsru"
    sms_method: Literal["GET", "POST"] = "POST"
    sms_api_id: str = ""
    sms_sender: str = ""
    sms_param_key: str = "api_id"
    sms_param_to: str = "to"
    sms_param_text: str = "msg"
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    @field_validator("day_window")
    @classmethod
    def _check_window(cls, value: tuple[time, time]) -> tuple[time, time]:
        if value[1] <= value[0]:
            raise ValueError("окно должно кончаться позже, чем начинается")
        return value


class Demo(_Strict):
    password: str = "priyom-demo"


class OfficeConfig(_Strict):
    office: Office
    hours: list[WorkingHours] = Field(min_length=1)
    calendar: CalendarOverrides = CalendarOverrides()
    floors: list[Floor] = Field(min_length=1)
    rooms: list[Room] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    staff: list[StaffMember] = Field(min_length=1)
    directory: list[DirectoryEntry] = []
    consultation: Consultation = Consultation()
    spots: list[Spot] = []
    messaging: Messaging = Messaging()
    demo: Demo = Demo()

    @model_validator(mode="after")
    def _check_references(self) -> OfficeConfig:
        seen_days: set[str] = set()
        for block in self.hours:
            for day in block.days:
                if day in seen_days:
                    raise ValueError(f"hours: день {day} указан дважды")
                seen_days.add(day)
        floors = {f.number for f in self.floors}
        rooms = {r.number for r in self.rooms}
        _unique("rooms.number", [r.number for r in self.rooms])
        _unique("services.code", [s.code for s in self.services])
        _unique("services.letter", [s.letter for s in self.services])
        _unique("staff.login", [s.login for s in self.staff])
        _unique("spots.key", [s.key for s in self.spots])
        _unique("consultation.topics.key", [t.key for t in self.consultation.topics])
        units = {m.unit for m in self.staff}
        for topic in self.consultation.topics:
            for unit in topic.units:
                if unit not in units:
                    raise ValueError(
                        f"consultation.topics.{topic.key}.units: в staff нет отдела {unit!r}"
                    )
        for room in self.rooms:
            if room.floor not in floors:
                raise ValueError(f"rooms.{room.number}.floor: этажа {room.floor} нет в floors")
        services = {s.code for s in self.services}
        for member in self.staff:
            if member.room is not None and member.room not in rooms:
                raise ValueError(f"staff.{member.login}.room: кабинета {member.room} нет в rooms")
            for code in member.services:
                if code not in services:
                    raise ValueError(f"staff.{member.login}.services: нет услуги {code}")
            if "specialist" in member.roles and (member.room is None or not member.services):
                raise ValueError(f"staff.{member.login}: специалисту нужны room и services")
        for code in services:
            if not any(code in m.services for m in self.staff):
                raise ValueError(f"services.{code}: ни один специалист не ведёт эту услугу")
        for spot in self.spots:
            if spot.floor not in floors:
                raise ValueError(f"spots.{spot.key}.floor: этажа {spot.floor} нет в floors")
            for number in spot.routes:
                if number not in rooms:
                    raise ValueError(f"spots.{spot.key}.routes: кабинета {number} нет в rooms")
        return self

    def line_hours(self) -> str:
        """§19: the lines' hours, told wherever the numbers are: "пн–чт 09:00–18:00, ..."."""
        if self.consultation.hours:
            return self.consultation.hours
        parts = [
            f"{_days_span(block.days)} {block.open:%H:%M}–{block.close:%H:%M}"
            for block in self.hours
        ]
        lunches = {block.lunch for block in self.hours if block.lunch}
        if len(lunches) == 1:
            start, end = lunches.pop() or (time.min, time.min)
            parts.append(f"перерыв {start:%H:%M}–{end:%H:%M}")
        return ", ".join(parts)

    def phones_with_hours(self) -> str:
        """The numbers with the lines' hours (§19): "238-60-02, 238-60-62 (пн–чт ...)"."""
        return f"{', '.join(self.office.phones)} ({self.line_hours()})"

    def hours_for(self, weekday: Weekday) -> WorkingHours | None:
        """Return the hours block for a weekday, or None if the office is closed."""
        for block in self.hours:
            if weekday in block.days:
                return block
        return None

    def room(self, number: str) -> Room:
        return next(r for r in self.rooms if r.number == number)

    def spot(self, key: str) -> Spot | None:
        return next((s for s in self.spots if s.key == key), None)


_WEEKDAYS_RU = dict(zip(WEEKDAYS, ("пн", "вт", "ср", "чт", "пт", "сб", "вс"), strict=True))


def _days_span(days: list[Weekday]) -> str:
    """ "пн–чт" for a run of weekdays, "пн, ср" otherwise."""
    ordered = sorted(days, key=WEEKDAYS.index)
    indexes = [WEEKDAYS.index(d) for d in ordered]
    if len(ordered) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{_WEEKDAYS_RU[ordered[0]]}–{_WEEKDAYS_RU[ordered[-1]]}"
    return ", ".join(_WEEKDAYS_RU[d] for d in ordered)


def public_url_problem(office: Office) -> str | None:
    """Why office.public_base_url cannot go on tickets and messages, or None when it can."""
    url = office.public_base_url.strip()
    example = 'например public_base_url = "https://priyom.example.ru"'
    if not url:
        return (
            "office.public_base_url не задан: по этому адресу телефоны посетителей открывают "
            f"страницу талона по QR-коду. Укажите адрес сервера в сети офиса или в интернете, {example}."
        )
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return (
            f"office.public_base_url = {url!r}: нужен адрес вида https://адрес-сервера, {example}."
        )
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback or host == "0.0.0.0"
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return (
            f"office.public_base_url = {url!r} ведёт на сам сервер: QR-коды на талонах не "
            f"откроются на телефонах посетителей. Укажите адрес сервера в сети, {example}."
        )
    return None


def _unique(key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{key}: значение {value!r} повторяется")
        seen.add(value)


def load_config(path: str | os.PathLike[str] | None = None) -> OfficeConfig:
    """Read and validate the office TOML (default: the demo office); raise ConfigError naming the key.

    The file comes from `priyom --config` or PRIYOM_CONFIG (visits.settings).
    """
    config_path = Path(path) if path else DEMO_CONFIG_PATH
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Файл настроек {config_path} не найден") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: ошибка синтаксиса TOML: {exc}") from exc
    try:
        return OfficeConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(корень)"
            problems.append(f"  {key}: {error['msg']}")
        raise ConfigError(f"{config_path}: ошибки в настройках:\n" + "\n".join(problems)) from exc
