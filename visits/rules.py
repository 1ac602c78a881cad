"""Rules of the order that both services (which enforce them) and queries (which show them) read.

Pure functions and constants over the models: no session, no writes. A service
and a screen that need the same rule import it from here, so it lives once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from visits.calendar import WorkCalendar, utcnow
from visits.config import Messaging, OfficeConfig
from visits.errors import InvalidInput
from visits.models import Client, MessageKind, Ticket, TicketStatus
from visits.ru import address_name_instrumental, minutes_phrase, plural

# §23: at most two hand-overs to other colleagues within one contact.
MAX_TRANSFERS = 2
# No-show may be marked only after this many recalls or this long after the call.
NO_SHOW_RECALLS = 2
NO_SHOW_AFTER = timedelta(minutes=5)

ACTIVE = (TicketStatus.CALLED, TicketStatus.IN_SERVICE)

# §4: every interaction is stored for five years.
RETENTION_YEARS = 5


def day_window(calendar: WorkCalendar, now: datetime) -> tuple[datetime, datetime]:
    """The office's local day around `now`, as UTC bounds [start, end)."""
    day = calendar.to_local(now).date()
    start = calendar.at(day, time(0, 0)).astimezone(UTC)
    end = calendar.at(day + timedelta(days=1), time(0, 0)).astimezone(UTC)
    return start, end


def apology_text(*, minutes: int, client: Client) -> str:
    """§34.4: the prompt to apologise, with the name in the instrumental case."""
    name = address_name_instrumental(client.first_name, client.patronymic)
    first = f"Приём начинается на {minutes_phrase(minutes)} позже записи."
    if name:
        return f"{first} Извинитесь перед {name}."
    return f"{first} Извинитесь перед посетителем за задержку."


def department_apology_text(*, client: Client, reason: str) -> str:
    """§35.5: the apology prompt when the department's work is at fault, by name (§34.3)."""
    name = address_name_instrumental(client.first_name, client.patronymic)
    whom = name or "посетителем"
    opening = f"{client.address_name}, я" if client.patronymic else "Я"
    return (
        f"Ошибка департамента: {reason}. Извинитесь перед {whom}: «{opening} приношу Вам "
        "извинения за ошибку департамента» и скажите, что и когда будет сделано."
    )


def apology_due(ticket: Ticket, apology_after_minutes: int) -> bool:
    """§34.4: a call `apology_after_minutes` or more late asks for an apology.

    The order: any lateness is unacceptable and is apologised for, so the setting
    defaults to 1, the first whole minute.
    """
    late = ticket.late_start_minutes or 0
    return late > 0 and late >= apology_after_minutes


def room_move_announced(ticket: Ticket) -> bool:
    """§35.2, §35.4: whether a move to or from a meeting room is shown on the displays and messaged.

    A visitor already with the specialist is escorted there in person, so that third
    parties form no impression: no display, no voice, no message. Only a visitor who was
    called and has not come in yet is directed by the displays.
    """
    return ticket.status == TicketStatus.CALLED


# §35.2: what the specialist offers a visitor in a tense conversation, in the order's words.
COMFORT_REMINDER = (
    "проводите посетителя в переговорную сами;",
    "предложите снять верхнюю одежду;",
    "предложите сесть за стол;",
    "предложите чай, кофе или воду;",
    "дайте высказаться, не перебивайте;",
    "если ошибся департамент, извинитесь и скажите, что и когда будет сделано;",
    "при необходимости пригласите коллегу, который ведёт этот вопрос.",
)


def no_show_allowed(ticket: Ticket, now: datetime) -> bool:
    """No-show only after two recalls or five minutes after the call."""
    if ticket.status != TicketStatus.CALLED or ticket.called_at is None:
        return False
    return ticket.recall_count >= NO_SHOW_RECALLS or now - ticket.called_at >= NO_SHOW_AFTER


def shift_years(moment: datetime, years: int) -> datetime:
    """The same moment `years` later (earlier if negative); 29 February becomes the 28th."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February -> 28 February
        return moment.replace(year=moment.year + years, day=28)


def retention_until(last_event_at: datetime) -> datetime:
    """When data whose newest event is `last_event_at` may be purged (§4)."""
    return shift_years(last_event_at, RETENTION_YEARS)


# §30: "за сутки и (или) за два часа до наступления времени, на которое он записан".
REMINDER_LEAD = {
    MessageKind.REMINDER_DAY: timedelta(days=1),
    MessageKind.REMINDER_TWO_HOURS: timedelta(hours=2),
}
# §30: what the operator offers on the phone: (a day before, two hours before), and its label.
REMINDER_CHOICES: dict[str, tuple[bool, bool]] = {
    "both": (True, True),
    "day": (True, False),
    "two_hours": (False, True),
    "none": (False, False),
}
REMINDER_CHOICE_LABELS = {
    "both": "За день и за 2 часа",
    "day": "За день",
    "two_hours": "За 2 часа",
    "none": "Без напоминаний",
}
REMINDER_NOT_CHOSEN = "Спросите клиента о напоминаниях и отметьте вариант."


def reminder_too_late(choice: str, starts_at: datetime, *, now: datetime | None = None) -> str:
    """§30: why a reminder choice can no longer reach the client in time ("" if it can)."""
    day_before, two_hours = REMINDER_CHOICES[choice]
    left = starts_at - (now or utcnow())
    if day_before and left < REMINDER_LEAD[MessageKind.REMINDER_DAY]:
        return "До приёма меньше суток: напоминание за день не успеет прийти."
    if two_hours and left < REMINDER_LEAD[MessageKind.REMINDER_TWO_HOURS]:
        return "До приёма меньше двух часов: напоминание за 2 часа не успеет прийти."
    return ""


def reminders_late(starts_at: datetime, *, now: datetime | None = None) -> dict[str, str]:
    """§30: for each choice, why it cannot reach the client in time ("" where it can)."""
    return {choice: reminder_too_late(choice, starts_at, now=now) for choice in REMINDER_CHOICES}


def reminder_choice(
    raw: str, *, starts_at: datetime, now: datetime | None = None
) -> tuple[bool, bool]:
    """§30: the operator's reminder choice as (a day before, two hours before); refuse one too late."""
    if raw not in REMINDER_CHOICES:
        raise InvalidInput(REMINDER_NOT_CHOSEN, field="reminders")
    if late := reminder_too_late(raw, starts_at, now=now):
        raise InvalidInput(late, field="reminders")
    return REMINDER_CHOICES[raw]


# §30: when a reminder goes: the quiet hours move it (the sender and the desk read this).


def window_of(settings: Messaging, *, allow_early: bool) -> tuple[time, time]:
    """The local hours when a client may get a message (§30: 07:00 only if allowed)."""
    opens = settings.early_window_start if allow_early else settings.day_window[0]
    return opens, settings.day_window[1]


def in_window(moment: datetime, tz: ZoneInfo, window: tuple[time, time]) -> bool:
    local = moment.astimezone(tz).time()
    return window[0] <= local <= window[1]


def next_window_opening(moment: datetime, tz: ZoneInfo, window: tuple[time, time]) -> datetime:
    """The first moment at or after `moment` that is inside the window."""
    local = moment.astimezone(tz)
    if window[0] <= local.time() <= window[1]:
        return moment
    day = local.date() if local.time() < window[0] else local.date() + timedelta(days=1)
    return datetime.combine(day, window[0], tzinfo=tz).astimezone(moment.tzinfo)


def previous_window_close(moment: datetime, tz: ZoneInfo, window: tuple[time, time]) -> datetime:
    """The last moment at or before `moment` that is inside the window."""
    local = moment.astimezone(tz)
    if window[0] <= local.time() <= window[1]:
        return moment
    day = local.date() if local.time() > window[1] else local.date() - timedelta(days=1)
    return datetime.combine(day, window[1], tzinfo=tz).astimezone(moment.tzinfo)


def reminder_send_at(
    *,
    kind: MessageKind,
    starts_at: datetime,
    settings: Messaging,
    tz: ZoneInfo,
    allow_early: bool,
) -> datetime:
    """When a reminder goes (§30).

    The ideal time is a day (or two hours) before the visit. Outside the
    window (09:00-21:00, from 07:00 for a client who allowed early messages)
    it moves to the nearest edge of the window that still leaves
    `reminder_min_lead_minutes` before the visit; the evening before always
    does. So "two hours before" a 09:00 visit goes at 07:00 only with early
    messages allowed, otherwise at 21:00 the evening before.
    """
    ideal = starts_at - REMINDER_LEAD[kind]
    window = window_of(settings, allow_early=allow_early)
    if in_window(ideal, tz, window):
        return ideal
    latest = starts_at - timedelta(minutes=settings.reminder_min_lead_minutes)
    later = next_window_opening(ideal, tz, window)
    earlier = previous_window_close(ideal, tz, window)
    if later <= latest and later - ideal < ideal - earlier:
        return later
    return earlier


_REMINDER_WORDS = {
    MessageKind.REMINDER_DAY: ("day", "за день"),
    MessageKind.REMINDER_TWO_HOURS: ("two_hours", "за 2 часа"),
}


def reminders_moved(
    *, starts_at: datetime, config: OfficeConfig, allow_early: bool
) -> dict[str, str]:
    """§30: for "day" and "two_hours", when the quiet hours move the reminder, say when it goes.

    Told to the operator at booking, on screen, so that the client can choose
    ("" where the reminder goes at its own time).
    """
    tz = ZoneInfo(config.office.timezone)
    settings = config.messaging
    visit_day = starts_at.astimezone(tz).date()
    notes: dict[str, str] = {}
    for kind, (choice, words) in _REMINDER_WORDS.items():
        ideal = starts_at - REMINDER_LEAD[kind]
        actual = reminder_send_at(
            kind=kind, starts_at=starts_at, settings=settings, tz=tz, allow_early=allow_early
        )
        if actual == ideal:
            notes[choice] = ""
            continue
        local = actual.astimezone(tz)
        days_before = (visit_day - local.date()).days
        when = {0: "в день приёма", 1: "накануне"}.get(
            days_before, f"за {days_before} {plural(days_before, 'день', 'дня', 'дней')}"
        )
        opens, closes = window_of(settings, allow_early=allow_early)
        notes[choice] = (
            f"Напоминание {words} придёт {when} в {local:%H:%M}, а не в "
            f"{ideal.astimezone(tz):%H:%M}: с {closes:%H:%M} до {opens:%H:%M} сообщения "
            "клиентам не отправляются. Скажите об этом клиенту."
        )
    return notes


# §14, §19: the phone lines work in the department's working hours on working days.
PHONE_CALL_TOO_LATE = (
    "Позвонить с напоминанием в часы работы линии до приёма не успеть: "
    "напоминание придёт другим способом связи, если клиент его выбрал"
)


def phone_call_due(calendar: WorkCalendar, *, ideal: datetime, now: datetime) -> datetime | None:
    """§14, §19: when an operator's reminder call falls due: in the lines' hours on a working day.

    The ideal moment if the line works then; otherwise the last working moment
    before it (a call at 21:00 or on a Sunday becomes one on the working day
    before). None when no such moment is left after `now`: the call cannot be
    made in time, and the caller reports it instead of a silently late call.
    """
    if calendar.is_within_hours(ideal):
        return ideal if ideal >= now else None
    day = calendar.to_local(ideal).date()
    # A bounded walk back: no real calendar has 60 days off in a row.
    for _ in range(60):
        for period in reversed(calendar.periods_on(day)):
            if period.start < ideal:
                # One minute before the period closes: a call still fits in the line's hours.
                moment = min(period.end - timedelta(minutes=1), ideal)
                return moment if moment >= now else None
        day -= timedelta(days=1)
    return None


def reminder_calls_moved(
    calendar: WorkCalendar, *, starts_at: datetime, now: datetime
) -> dict[str, str]:
    """§30 with §14, §19: for a client called by phone, when the operator's reminder call falls due.

    "" where the call is at the reminder's own time; told to the operator at booking.
    """
    visit_day = calendar.to_local(starts_at).date()
    notes: dict[str, str] = {}
    for kind, (choice, words) in _REMINDER_WORDS.items():
        ideal = starts_at - REMINDER_LEAD[kind]
        due = phone_call_due(calendar, ideal=ideal, now=now)
        if due == ideal:
            notes[choice] = ""
        elif due is None:
            notes[choice] = (
                f"Позвонить с напоминанием {words} в часы работы линии до приёма не успеть."
            )
        else:
            local = calendar.to_local(due)
            days_before = (visit_day - local.date()).days
            when = {0: "в день приёма", 1: "накануне"}.get(days_before, f"{local:%d.%m}")
            notes[choice] = (
                f"Позвонить с напоминанием {words} оператор сможет {when} до {local:%H:%M}: "
                f"линии работают {calendar.config.line_hours()}."
            )
    return notes
