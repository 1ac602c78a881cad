"""§30: when the quiet hours move a reminder, the operator is told at booking when it will go."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.rules import reminder_calls_moved, reminders_moved

NSK = ZoneInfo("Asia/Novosibirsk")


def test_two_hours_before_a_nine_oclock_visit_goes_the_evening_before(
    office_config: OfficeConfig,
) -> None:
    nine = datetime(2027, 1, 12, 9, 0, tzinfo=NSK)
    notes = reminders_moved(starts_at=nine, config=office_config, allow_early=False)
    assert notes["day"] == ""  # 09:00 the day before is inside the hours
    assert notes["two_hours"] == (
        "Напоминание за 2 часа придёт накануне в 21:00, а не в 07:00: с 21:00 до 09:00 "
        "сообщения клиентам не отправляются. Скажите об этом клиенту."
    )
    # A client who allowed early messages gets it at 07:00: nothing to tell.
    assert reminders_moved(starts_at=nine, config=office_config, allow_early=True) == {
        "day": "",
        "two_hours": "",
    }


def test_a_reminder_a_day_before_an_early_visit_moves_too(office_config: OfficeConfig) -> None:
    notes = reminders_moved(
        starts_at=datetime(2027, 1, 12, 8, 30, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert notes["day"].startswith("Напоминание за день придёт накануне в 09:00, а не в 08:30")


def test_a_midday_visit_needs_no_note_and_ten_thirty_does(office_config: OfficeConfig) -> None:
    noon = reminders_moved(
        starts_at=datetime(2027, 1, 12, 12, 0, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert noon == {"day": "", "two_hours": ""}
    half_past_ten = reminders_moved(
        starts_at=datetime(2027, 1, 12, 10, 30, tzinfo=NSK), config=office_config, allow_early=False
    )
    assert half_past_ten["two_hours"].startswith(
        "Напоминание за 2 часа придёт в день приёма в 09:00, а не в 08:30"
    )


def test_a_client_called_by_phone_hears_when_the_operator_can_call(
    office_config: OfficeConfig,
) -> None:
    calendar = WorkCalendar(office_config)
    tuesday = datetime(2027, 1, 19, 9, 30, tzinfo=NSK)  # Monday the 18th is a working day
    notes = reminder_calls_moved(
        calendar, starts_at=tuesday, now=datetime(2027, 1, 15, 10, 0, tzinfo=NSK)
    )
    assert notes["day"] == ""  # Monday 09:30: the line works
    assert notes["two_hours"].startswith(
        "Позвонить с напоминанием за 2 часа оператор сможет накануне до 17:59: линии работают пн–чт"
    )
    late = reminder_calls_moved(
        calendar, starts_at=tuesday, now=datetime(2027, 1, 18, 20, 0, tzinfo=NSK)
    )
    assert late["two_hours"] == (
        "Позвонить с напоминанием за 2 часа в часы работы линии до приёма не успеть."
    )
