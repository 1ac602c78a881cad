"""The desk screen as one read (visits.queries.desk), without Flask: corrections and the re-check."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session

from tests.factories import make_booking, make_client, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.errors import SLOT_TAKEN, InvalidInput
from visits.queries.desk import (
    CHOOSE_CLIENT,
    DeskChoice,
    desk_booking_cancellable,
    desk_pick,
    desk_screen,
    desk_step,
)
from visits.queries.slots import Slot
from visits.rules import REMINDER_NOT_CHOSEN

NSK = ZoneInfo("Asia/Novosibirsk")
NOW = datetime(2026, 12, 29, 11, 5, tzinfo=NSK)  # Tuesday; the 30th is the next working day


def _key(session: Session, login: str, local: datetime) -> str:
    staff = staff_by_login(session, login)
    assert staff.id is not None
    return Slot(staff.id, local.astimezone(UTC), local.astimezone(UTC)).key


def test_choice_reads_the_address_and_drops_what_is_malformed() -> None:
    choice = DeskChoice.parse({"client": "12", "service": "x", "day": "2026-13-01", "slot": " a "})
    assert choice == DeskChoice(client_id=12, slot="a")
    assert choice.params(service=3, slot=None) == {"client": "12", "service": "3"}


def test_step_corrects_a_specialist_of_another_service_and_picks_the_first_free_day(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    volkova = staff_by_login(session, "volkova")  # cadastre only
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        step = desk_step(session, calendar, DeskChoice(service_id=service.id, staff_id=volkova.id))
    assert step.error is None and step.status == 200 and step.confirm is None
    assert step.choice.staff_id is None and step.choice.day == NOW.date()
    assert step.slots is not None and step.slots.total > 0
    assert [label for label, _ in step.slots.periods] == ["До обеда", "После обеда"]


def test_step_confirms_a_free_time_and_refuses_a_taken_one(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    moment = datetime(2026, 12, 30, 9, 30, tzinfo=NSK)
    free = datetime(2026, 12, 30, 10, 30, tzinfo=NSK)
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        make_booking(session, calendar, starts_at=moment.astimezone(UTC), now=NOW.astimezone(UTC))
        ok = desk_step(
            session,
            calendar,
            DeskChoice(service_id=service.id, slot=_key(session, "ivanova", free)),
        )
        taken = desk_step(
            session,
            calendar,
            DeskChoice(service_id=service.id, slot=_key(session, "ivanova", moment)),
        )
    assert ok.confirm is not None and ok.confirm.start == free
    assert ok.confirm.date_text == "30 декабря 2026 г., среда"
    assert taken.confirm is None and (taken.error, taken.status) == (SLOT_TAKEN, 409)
    assert taken.choice.slot == "" and taken.slots is not None


def test_screen_without_an_opened_client_has_no_client_in_the_address(
    session: Session, calendar: WorkCalendar
) -> None:
    person = make_client(session)
    booking = make_booking(session, calendar, client=person)
    screen = desk_screen(session, calendar, DeskChoice(client_id=person.id), client=None)
    assert screen.client is None and screen.upcoming == []
    assert screen.step.choice.client_id is None and screen.step.client is None
    opened = desk_screen(session, calendar, DeskChoice(client_id=person.id), client=person)
    assert [b.booking.id for b in opened.upcoming] == [booking.id]
    assert opened.step.client is person


def test_confirmation_says_which_reminders_can_still_arrive(
    session: Session, calendar: WorkCalendar
) -> None:
    """§30: a visit tomorrow before this hour is under a day away: no reminder a day before."""
    service = service_by_code(session, "land-lease")
    free = datetime(2026, 12, 30, 10, 30, tzinfo=NSK)
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        key = _key(session, "ivanova", free)
        step = desk_step(session, calendar, DeskChoice(service_id=service.id, slot=key))
    assert step.confirm is not None
    late = {value: why for value, _label, why in step.confirm.reminder_options}
    assert late["day"] and late["both"] and not late["two_hours"] and not late["none"]
    assert step.confirm.reminders_hint == late["day"]


def test_pick_checks_the_time_then_the_client_then_the_reminders(
    session: Session, calendar: WorkCalendar
) -> None:
    service = service_by_code(session, "land-lease")
    person = make_client(session)
    free = datetime(2026, 12, 30, 10, 30, tzinfo=NSK)
    with time_machine.travel(NOW.astimezone(UTC), tick=False):
        choice = DeskChoice(service_id=service.id, slot=_key(session, "ivanova", free))
        refused = {
            "slot": (DeskChoice(service_id=service.id, slot="x"), "none"),
            "client": (choice, "none"),
            "reminders": (replace(choice, client_id=person.id), ""),
        }
        for field, (picked, reminders) in refused.items():
            with pytest.raises(InvalidInput) as exc:
                desk_pick(session, picked, reminders=reminders)
            assert exc.value.field == field
            if field == "client":
                assert exc.value.message == CHOOSE_CLIENT
        assert exc.value.message == REMINDER_NOT_CHOSEN
        with pytest.raises(InvalidInput, match="меньше суток"):
            desk_pick(session, replace(choice, client_id=person.id), reminders="day")
        pick = desk_pick(session, replace(choice, client_id=person.id), reminders="two_hours")
    assert (pick.client_id, pick.starts_at) == (person.id, free.astimezone(UTC))
    assert (pick.remind_day_before, pick.remind_two_hours_before) == (False, True)


def test_only_an_upcoming_booking_of_the_client_is_cancellable(
    session: Session, calendar: WorkCalendar
) -> None:
    person, other = make_client(session), make_client(session)
    booking = make_booking(session, calendar, client=person)
    assert person.id is not None and other.id is not None and booking.id is not None
    found = desk_booking_cancellable(session, person.id, booking.id)
    assert found is not None and found.booking.id == booking.id
    assert desk_booking_cancellable(session, other.id, booking.id) is None
