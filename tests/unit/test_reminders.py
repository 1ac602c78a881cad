"""§30 reminders with time travel: timing rule, sending at the right local times, never lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import Session, col, select

from tests.conftest import Database
from tests.factories import make_booking, make_client
from tests.unit.test_notify import SmsGateway, SmtpSink, free_port, with_messaging
from visits.calendar import WorkCalendar
from visits.config import Messaging, OfficeConfig
from visits.db import make_engine, make_sessionmaker
from visits.errors import InvalidInput
from visits.models import (
    Booking,
    CallTask,
    Client,
    HistoryEntry,
    HistoryKind,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
)
from visits.notify.channels import Channels, Envelope
from visits.notify.outbox import message_queue
from visits.notify.sender import outbox_send_due
from visits.notify.templates import MessageText
from visits.rules import reminder_choice, reminders_late
from visits.services.booking import booking_cancel
from visits.services.reminders import TOO_LATE_TO_REMIND, reminder_send_at

TZ = ZoneInfo("Asia/Novosibirsk")
DAY, TWO_HOURS = MessageKind.REMINDER_DAY, MessageKind.REMINDER_TWO_HOURS
REMINDERS = (DAY.value, TWO_HOURS.value)


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


# --- The timing rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "visit", "allow_early", "expected"),
    [
        # Inside 09:00-21:00: exactly a day / two hours before.
        (DAY, local(17, 10, 30), False, local(16, 10, 30)),
        (TWO_HOURS, local(17, 12, 0), False, local(17, 10, 0)),
        # A day before 08:30 is outside the window: the nearest edge, 09:00 the day before.
        (DAY, local(17, 8, 30), False, local(16, 9, 0)),
        # A day before 21:30: 21:00 the day before.
        (DAY, local(17, 21, 30), False, local(16, 21, 0)),
        # Two hours before 09:00: 07:00 only with early messages allowed...
        (TWO_HOURS, local(17, 9, 0), True, local(17, 7, 0)),
        # ...otherwise the evening before.
        (TWO_HOURS, local(17, 9, 0), False, local(16, 21, 0)),
        # 10:30: 08:30 moves to 09:00 (an hour and a half still before the visit).
        (TWO_HOURS, local(17, 10, 30), False, local(17, 9, 0)),
        # 09:30: 09:00 would leave only 30 minutes, so the evening before.
        (TWO_HOURS, local(17, 9, 30), False, local(16, 21, 0)),
        # Early allowed, 08:30 visit: 06:30 moves to 07:00.
        (TWO_HOURS, local(17, 8, 30), True, local(17, 7, 0)),
    ],
)
def test_reminder_time_rule(
    kind: MessageKind, visit: datetime, allow_early: bool, expected: datetime
) -> None:
    at = reminder_send_at(
        kind=kind, starts_at=visit, settings=Messaging(), tz=TZ, allow_early=allow_early
    )
    assert at == expected
    assert at < visit


# --- Scenarios with a real SMTP server and SMS gateway -----------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture
def live_config(
    office_config: OfficeConfig, smtp_sink: SmtpSink, sms_gateway: SmsGateway
) -> OfficeConfig:
    config = with_messaging(
        office_config,
        email_uri=f"smtp://127.0.0.1:{smtp_sink.port}",
        sms_uri=sms_gateway.url,
        sms_api_id="TEST",
    )
    return config


def _book(session: Session, calendar: WorkCalendar, visit: datetime, **client: Any) -> Booking:
    person = make_client(session, **({"channel": "email", "second_channel": "sms"} | client))
    return make_booking(
        session,
        calendar,
        client=person,
        starts_at=visit,
        remind_day_before=True,
        remind_two_hours_before=True,
    )


def _run_until(
    session: Session,
    config: OfficeConfig,
    clock: Any,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=5),
) -> dict[int, datetime]:
    """Tick the send job every `step` from start to end; return when each row was sent."""
    sent: dict[int, datetime] = {}
    moment = start
    while moment <= end:
        clock.move_to(moment)
        report = outbox_send_due(session=session, config=config)
        for row_id in report.ids_sent:
            sent[row_id] = moment
        moment += step
    return sent


def _rows(session: Session, booking: Booking) -> list[OutgoingMessage]:
    session.expire_all()
    return list(
        session.exec(select(OutgoingMessage).where(OutgoingMessage.booking_id == booking.id)).all()
    )


def test_tomorrow_1030_both_reminders_by_both_channels_at_the_right_times(
    session: Session,
    calendar: WorkCalendar,
    live_config: OfficeConfig,
    smtp_sink: SmtpSink,
    sms_gateway: SmsGateway,
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 10, 30))
        sent = _run_until(session, live_config, clock, local(16, 9, 0), local(17, 11, 0))
    rows = _rows(session, booking)
    reminders = [r for r in rows if r.kind in REMINDERS]
    assert sorted((r.kind, r.channel) for r in reminders) == [
        ("reminder_2h", "email"),
        ("reminder_2h", "sms"),
        ("reminder_day", "email"),
        ("reminder_day", "sms"),
    ]
    assert all(r.status == MessageStatus.SENT and r.attempts == 1 for r in rows)
    # §30: a day before at 10:30; two hours before 10:30 is 08:30, moved into the window: 09:00.
    for row in reminders:
        expected = local(16, 10, 30) if row.kind == DAY else local(17, 9, 0)
        assert sent[row.id or 0] == expected, row.kind
    subjects = [str(m["Subject"]) for m in smtp_sink.messages]
    assert len(subjects) == 3  # confirmation + two reminders
    assert sum("Приём завтра в 10:30" in s for s in subjects) == 1
    assert sum("Приём сегодня в 10:30" in s for s in subjects) == 1
    texts = [r["msg"] for r in sms_gateway.requests]
    assert len(texts) == 3
    assert sum("завтра в 10:30" in t for t in texts) == 1
    assert sum("сегодня в 10:30" in t for t in texts) == 1
    sent_history = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.booking_id == booking.id, HistoryEntry.kind == HistoryKind.MESSAGE_SENT
        )
    ).all()
    assert len(sent_history) == 6  # §4: every message sent is in the history


def test_cancelled_booking_sends_no_reminder(
    session: Session, calendar: WorkCalendar, live_config: OfficeConfig, sms_gateway: SmsGateway
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 10, 30))
        clock.move_to(local(16, 9, 10))
        booking_cancel(session=session, calendar=calendar, booking_id=booking.id or 0, staff=None)
        _run_until(session, live_config, clock, local(16, 9, 10), local(17, 11, 0))
    rows = _rows(session, booking)
    reminders = [r for r in rows if r.kind in REMINDERS]
    assert len(reminders) == 4
    assert {(r.status, r.skip_reason) for r in reminders} == {("skipped", "Запись отменена")}
    assert not any(
        "10:30" in r["msg"] and "вас примет" in r["msg"] for r in sms_gateway.requests[2:]
    )
    cancellations = [r for r in rows if r.kind == MessageKind.CANCELLATION]
    assert [r.status for r in cancellations] == ["sent", "sent"]


def test_booking_made_after_the_reminder_time_skips_it(
    session: Session, calendar: WorkCalendar, live_config: OfficeConfig
) -> None:
    with time_machine.travel(local(16, 14, 0), tick=False):
        booking = _book(session, calendar, local(17, 10, 30))
    day_rows = [r for r in _rows(session, booking) if r.kind == DAY]
    assert {(r.status, r.skip_reason) for r in day_rows} == {("skipped", TOO_LATE_TO_REMIND)}


def test_late_reminder_outside_the_window_waits_for_the_morning(
    session: Session, calendar: WorkCalendar, live_config: OfficeConfig
) -> None:
    with time_machine.travel(local(16, 8, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 15, 0))
        # The server is down from 08:00 till 22:30: the day reminder (15:00) is late.
        clock.move_to(local(16, 22, 30))
        report = outbox_send_due(session=session, config=live_config)
        assert report.postponed == 2
        sent = _run_until(session, live_config, clock, local(16, 22, 35), local(17, 9, 0))
    day_rows = [r for r in _rows(session, booking) if r.kind == DAY]
    assert [sent[r.id or 0] for r in day_rows] == [local(17, 9, 0)] * 2


def test_reminder_due_while_the_server_was_down_goes_late_only_before_the_visit(
    session: Session, calendar: WorkCalendar, live_config: OfficeConfig
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        early = _book(session, calendar, local(17, 10, 30))
        late = _book(session, calendar, local(17, 11, 0))
        outbox_send_due(session=session, config=live_config)  # the confirmations
        clock.move_to(local(17, 10, 45))  # back up after a long outage
        outbox_send_due(session=session, config=live_config)
    for row in _rows(session, early):
        if row.kind in REMINDERS:
            assert row.status == "skipped" and row.skip_reason.startswith("Время приёма прошло")
    late_reminders = [r for r in _rows(session, late) if r.kind in REMINDERS]
    assert {r.status for r in late_reminders} == {"sent"}


class Recorder:
    """Fake adapters that count what they were asked to send (thread-safe)."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self._lock = threading.Lock()

    def send(self, envelope: Envelope) -> str:
        with self._lock:
            self.sent.append(envelope.message_id)
        return "ok"

    def channels(self) -> Channels:
        return Channels(email=self, sms=self)


def test_restart_between_scheduling_and_sending_loses_nothing(
    fresh_db: Database, calendar: WorkCalendar, office_config: OfficeConfig
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        with make_sessionmaker(fresh_db.engine)() as session:
            booking = _book(session, calendar, local(17, 10, 30))
        fresh_db.engine.dispose()  # the server stops
        clock.move_to(local(17, 9, 1))  # ...and starts again the next morning
        engine = make_engine(fresh_db.url)
        recorder = Recorder()
        try:
            with make_sessionmaker(engine)() as session:
                outbox_send_due(session=session, config=office_config, channels=recorder.channels())
                rows = _rows(session, booking)
        finally:
            engine.dispose()
    by_kind = {(r.kind, r.channel): r.status for r in rows}
    # The day reminder (due yesterday 10:30) and the two-hours one (09:00): sent, not lost.
    assert by_kind[("reminder_day", "email")] == "sent"
    assert by_kind[("reminder_2h", "sms")] == "sent"
    assert sorted(recorder.sent) == sorted(r.id for r in rows)


def test_two_scheduler_processes_send_each_message_once(
    fresh_db: Database, office_config: OfficeConfig
) -> None:
    factory = make_sessionmaker(fresh_db.engine)
    with factory() as session:
        for n in range(8):
            client = make_client(session, channel="email", second_channel="sms")
            from visits.db import write_transaction

            with write_transaction(session):
                message_queue(
                    session,
                    client=client,
                    kind=MessageKind.FINAL,
                    text=MessageText(subject=f"Тема {n}", body="Текст", sms="Коротко"),
                )
        expected = sorted(r.id or 0 for r in session.exec(select(OutgoingMessage)).all())
    assert len(expected) == 16
    recorder = Recorder()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler(name: str) -> None:
        try:
            with factory() as session:
                barrier.wait(timeout=10)
                outbox_send_due(
                    session=session,
                    config=office_config,
                    channels=recorder.channels(),
                    holder=name,
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(f"s{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(recorder.sent) == expected  # each exactly once
    with factory() as session:
        statuses = set(session.exec(select(OutgoingMessage.status)).all())
    assert statuses == {"sent"}


def test_smtp_down_then_retried_then_sent(
    session: Session, calendar: WorkCalendar, office_config: OfficeConfig
) -> None:
    port = free_port()
    config = with_messaging(office_config, email_uri=f"smtp://127.0.0.1:{port}")
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 10, 30), second_channel=None)
        report = outbox_send_due(session=session, config=config)
        assert report.retried == 1
        [row] = [r for r in _rows(session, booking) if r.kind == MessageKind.CONFIRMATION]
        assert row.status == "queued" and row.attempts == 1 and row.error
        assert row.next_attempt_at == local(16, 9, 2)  # the first backoff: 2 minutes
        clock.move_to(local(16, 9, 1))
        assert outbox_send_due(session=session, config=config).sent == 0  # still waiting
        sink = SmtpSink(port).start()  # the mail server is back
        try:
            clock.move_to(local(16, 9, 2))
            assert outbox_send_due(session=session, config=config).sent == 1
        finally:
            sink.stop()
    [row] = [r for r in _rows(session, booking) if r.kind == MessageKind.CONFIRMATION]
    assert row.status == "sent" and row.attempts == 2 and row.error == ""
    assert len(sink.messages) == 1


def test_gateway_500_three_times_fails_and_calls(
    session: Session, calendar: WorkCalendar, office_config: OfficeConfig, sms_gateway: SmsGateway
) -> None:
    config = with_messaging(office_config, sms_uri=sms_gateway.url)
    sms_gateway.statuses = [500, 500, 500]
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 10, 30), channel="sms", second_channel=None)
        for minute in (0, 2, 12):  # backoff: 2 minutes, then 10
            clock.move_to(local(16, 9, minute))
            outbox_send_due(session=session, config=config)
    [row] = [r for r in _rows(session, booking) if r.kind == MessageKind.CONFIRMATION]
    assert len(sms_gateway.requests) == 3
    assert row.status == "failed" and row.attempts == 3 and "500" in row.error
    [task] = session.exec(select(CallTask).where(CallTask.message_id == row.id)).all()
    assert task.text.startswith("Позвонить Ивану Петровичу, +7")
    assert "не удалось отправить" in task.text
    kinds = set(
        session.exec(
            select(HistoryEntry.kind).where(
                HistoryEntry.client_id == booking.client_id,
                col(HistoryEntry.kind).in_([HistoryKind.MESSAGE_FAILED, HistoryKind.CALL_TASK]),
            )
        ).all()
    )
    assert kinds == {"message_failed", "call_task"}


def test_phone_reminder_becomes_a_call_task_at_its_time(
    session: Session, calendar: WorkCalendar, live_config: OfficeConfig
) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False) as clock:
        booking = _book(session, calendar, local(17, 10, 30), channel="phone", second_channel=None)
        _run_until(session, live_config, clock, local(16, 9, 0), local(16, 10, 30))
    [task] = session.exec(select(CallTask)).all()
    client = session.get(Client, booking.client_id)
    assert client is not None
    assert task.text == (
        f"Позвонить Ивану Петровичу, {client.phone}: "
        "напомнить о приёме завтра в 10:30: Мария Петровна Иванова, кабинет 305, 3 этаж"
    )
    assert task.due_at == local(16, 10, 30)
    confirmation = next(r for r in _rows(session, booking) if r.kind == MessageKind.CONFIRMATION)
    assert confirmation.status == "skipped"  # the operator read it out while booking


def test_booking_made_through_the_service_gets_its_reminders(
    session: Session, calendar: WorkCalendar
) -> None:
    """§30: booking_create queues the reminders itself; no process has to install anything."""
    with time_machine.travel(local(16, 9, 0), tick=False):
        booking = _book(session, calendar, local(17, 10, 30))
    reminders = [r for r in _rows(session, booking) if r.kind in REMINDERS]
    assert sorted((r.kind, r.channel, r.due_at, r.status) for r in reminders) == [
        ("reminder_2h", "email", local(17, 9, 0), "queued"),
        ("reminder_2h", "sms", local(17, 9, 0), "queued"),
        ("reminder_day", "email", local(16, 10, 30), "queued"),
        ("reminder_day", "sms", local(16, 10, 30), "queued"),
    ]
    with time_machine.travel(local(16, 9, 30), tick=False):
        booking_cancel(session=session, calendar=calendar, booking_id=booking.id or 0, staff=None)
    session.expire_all()
    reminders = [r for r in _rows(session, booking) if r.kind in REMINDERS]
    assert {(r.status, r.skip_reason) for r in reminders} == {("skipped", "Запись отменена")}


def test_booking_without_reminders_gets_none(session: Session, calendar: WorkCalendar) -> None:
    with time_machine.travel(local(16, 9, 0), tick=False):
        person = make_client(session, channel="email", second_channel="sms")
        booking = make_booking(session, calendar, client=person, starts_at=local(17, 10, 30))
    assert not [r for r in _rows(session, booking) if r.kind in REMINDERS]


@pytest.mark.parametrize(
    ("choice", "hours_left", "late"),
    [
        ("both", 30, ""),
        ("both", 20, "напоминание за день не успеет прийти"),
        ("day", 20, "напоминание за день не успеет прийти"),
        ("two_hours", 20, ""),
        ("two_hours", 1, "напоминание за 2 часа не успеет прийти"),
        ("none", 1, ""),
    ],
)
def test_reminder_choice_that_cannot_arrive_in_time(
    choice: str, hours_left: int, late: str
) -> None:
    """§30: a reminder choice the clock no longer allows is refused with the reason."""
    now = local(16, 9, 0)
    visit = now + timedelta(hours=hours_left)
    assert (late or "") in reminders_late(visit, now=now)[choice]
    assert bool(reminders_late(visit, now=now)[choice]) == bool(late)
    if late:
        with pytest.raises(InvalidInput, match=late):
            reminder_choice(choice, starts_at=visit, now=now)
    else:
        assert reminder_choice(choice, starts_at=visit, now=now) in {
            (True, True),
            (True, False),
            (False, True),
            (False, False),
        }


@pytest.mark.parametrize("raw", ["", "always", "BOTH"])
def test_reminder_choice_not_made_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="Спросите клиента о напоминаниях"):
        reminder_choice(raw, starts_at=local(20, 10, 0), now=local(16, 9, 0))
