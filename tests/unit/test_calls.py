"""The consultation line (part III): hand-over cap (§23), call-back times (§24, §14, §19),
referrals (§26), the crisis phrases and the warning (§27), and the history (§4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from tests.factories import make_client, next_working_moment, service_by_code, staff_by_login
from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.demo import demo_seed
from visits.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from visits.models import (
    Call,
    CallHandover,
    CallOutcome,
    CallStatus,
    HistoryEntry,
    HistoryKind,
    MessageKind,
    OutgoingMessage,
)
from visits.queries.calls import (
    call_card,
    callbacks_list,
    calls_report,
    directory_search,
    handover_candidates,
)
from visits.queries.history import history_can_view
from visits.services.booking import booking_create
from visits.services.calls import (
    HANDOVER_CAP,
    MAX_HANDOVERS,
    call_client_set,
    call_close,
    call_details_set,
    call_handover,
    call_open,
    call_refer,
    callback_close,
    callback_deadline,
    callback_due,
    callback_intervals_parse,
    callback_promise,
    crisis_phrases,
    handover_sentence,
    non_business_warning,
)
from visits.services.client_data import client_merge
from visits.services.history_export import history_export
from visits.services.retention import history_purge


def _local(calendar: WorkCalendar, day: date, hh: int, mm: int = 0) -> datetime:
    return calendar.at(day, time(hh, mm)).astimezone(UTC)


def _kinds(session: Session, client_id: int) -> list[str]:
    return list(
        session.exec(
            select(HistoryEntry.kind)
            .where(HistoryEntry.client_id == client_id)
            .order_by(HistoryEntry.at, HistoryEntry.id)
        ).all()
    )


# ---------------------------------------------------------------- §23 hand-overs


def test_third_handover_is_refused(session: Session) -> None:
    operator = staff_by_login(session, "operator")
    ivanova, smirnov = staff_by_login(session, "ivanova"), staff_by_login(session, "smirnov")
    call = call_open(session=session, staff=operator)
    call_handover(session=session, call_id=call.id, staff=operator, to_staff_id=ivanova.id)
    call_handover(session=session, call_id=call.id, staff=ivanova, to_staff_id=smirnov.id)
    with pytest.raises(RuleViolation) as refused:
        call_handover(session=session, call_id=call.id, staff=smirnov, to_staff_id=ivanova.id)
    assert refused.value.message == HANDOVER_CAP
    assert "дважды" in refused.value.message
    session.refresh(call)
    assert MAX_HANDOVERS == 2
    assert call.handover_count == 2 and call.staff_id == smirnov.id


def test_only_the_holder_acts_on_a_call(session: Session) -> None:
    operator = staff_by_login(session, "operator")
    ivanova = staff_by_login(session, "ivanova")
    call = call_open(session=session, staff=operator)
    call_handover(session=session, call_id=call.id, staff=operator, to_staff_id=ivanova.id)
    with pytest.raises(Forbidden) as refused:
        call_handover(
            session=session,
            call_id=call.id,
            staff=operator,
            to_staff_id=staff_by_login(session, "smirnov").id,
        )
    assert "Мария Петровна Иванова" in refused.value.message


def test_handover_sentence_names_the_colleague_and_position(session: Session) -> None:
    client = make_client(session)
    sentence = handover_sentence(client=client, colleague=staff_by_login(session, "ivanova"))
    assert sentence.startswith("Иван Петрович, сейчас я переключу ваш звонок на коллегу: ")
    assert "Мария Петровна Иванова, главный специалист (отдел аренды земли)" in sentence
    assert "Она ответит" in sentence
    smirnov = handover_sentence(client=None, colleague=staff_by_login(session, "smirnov"))
    assert smirnov.startswith("Сейчас") and "Он ответит" in smirnov


def test_colleagues_with_the_service_come_first(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    call = call_open(session=session, staff=operator)
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=operator,
        topic="service",
        service_id=service_by_code(session, "cadastre").id,
        note="Как оспорить кадастровую стоимость",
    )
    candidates = handover_candidates(session, config=calendar.config, call=call)
    first_two = {c.staff.login for c in candidates[:2]}
    assert first_two == {"volkova", "fedorov"}
    assert all(c.reason == "ведёт эту услугу" for c in candidates[:2])
    assert "operator" not in {c.staff.login for c in candidates}


# ---------------------------------------------------------------- §24 call-backs


def test_friday_evening_promise_is_due_monday_in_the_callers_hours(
    calendar: WorkCalendar,
) -> None:
    friday = date(2026, 12, 4)
    assert friday.weekday() == 4
    promised = _local(calendar, friday, 17, 30)  # after Friday's 16:45 close
    intervals = callback_intervals_parse([("10:00", "12:00"), ("", "")])
    due = callback_due(calendar, start=promised, intervals=intervals)
    assert calendar.to_local(due) == calendar.at(date(2026, 12, 7), time(10, 0))
    # Two working days after Friday: Monday and Tuesday.
    assert callback_deadline(calendar, promised_at=promised, working_days=2) == date(2026, 12, 8)


def test_promise_before_the_new_year_holidays_waits_for_the_first_working_day(
    calendar: WorkCalendar,
) -> None:
    promised = _local(calendar, date(2026, 12, 30), 18, 30)  # Wednesday, after 18:00
    first = calendar.next_working_day(date(2026, 12, 30))
    # 31 December is a day off by the decree, 1-8 January are holidays.
    assert first > date(2027, 1, 8)
    due = callback_due(calendar, start=promised, intervals=[])
    assert calendar.to_local(due) == calendar.at(first, time(9, 0))
    deadline = callback_deadline(calendar, promised_at=promised, working_days=1)
    assert deadline == first


def test_callers_hours_skip_the_lunch_break(calendar: WorkCalendar) -> None:
    day = calendar.next_working_day(date(2026, 12, 6))
    due = callback_due(
        calendar,
        start=_local(calendar, day, 12, 59),
        intervals=callback_intervals_parse([("13:00", "14:00")]),
    )
    assert calendar.to_local(due) == calendar.at(day, time(13, 48))


def test_callers_hours_outside_working_hours_are_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(InvalidInput) as refused:
        callback_due(
            calendar,
            start=_local(calendar, date(2026, 12, 7), 10),
            intervals=callback_intervals_parse([("19:00", "21:00")]),
        )
    assert "рабочие часы" in refused.value.message
    with pytest.raises(InvalidInput):
        callback_intervals_parse([("12:00", "10:00")])
    with pytest.raises(InvalidInput):
        callback_intervals_parse([("10", "полдень")])


def test_callback_is_the_responsible_colleagues_task_in_due_order(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    ivanova = staff_by_login(session, "ivanova")
    client = make_client(session)
    monday = date(2026, 12, 7)
    made = []
    for hh in (15, 10):
        call = call_open(session=session, staff=operator)
        call_client_set(session=session, call_id=call.id, staff=operator, client_id=client.id)
        made.append(
            callback_promise(
                session=session,
                calendar=calendar,
                call_id=call.id,
                staff=operator,
                phone="8 913 000-11-22",
                working_days=2,
                intervals=callback_intervals_parse([(f"{hh}:00", f"{hh + 1}:00")]),
                responsible_staff_id=ivanova.id,
                now=_local(calendar, date(2026, 12, 4), 17, 30),
            )
        )
    assert made[0].phone == "+79130001122"
    assert made[0].late_after == _local(calendar, monday + timedelta(days=1), 18)
    mine = callbacks_list(session, staff=ivanova, now=_local(calendar, monday, 9))
    assert [r.callback.id for r in mine] == [made[1].id, made[0].id]  # 10:00 before 15:00
    assert not any(r.late or r.due_now for r in mine)
    # A specialist sees only their own; another specialist sees none of these.
    assert callbacks_list(session, staff=staff_by_login(session, "smirnov")) == []
    later = callbacks_list(session, staff=ivanova, now=_local(calendar, monday + timedelta(2), 9))
    assert all(r.late for r in later)


# ---------------------------------------------------------------- §26, §27


def test_directory_is_searchable_by_topic(calendar: WorkCalendar) -> None:
    found = directory_search(calendar.config, "земельного налога")
    assert [e.name for _i, e in found] == ["Федеральная налоговая служба"]
    assert len(directory_search(calendar.config, "")) == len(calendar.config.directory)


def test_referral_is_recorded_and_sent_by_the_callers_channel(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    client = make_client(session, channel="email", second_channel="sms")
    call = call_open(session=session, staff=operator)
    call_client_set(session=session, call_id=call.id, staff=operator, client_id=client.id)
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=operator,
        topic="other",
        service_id=None,
        note="Земельный налог",
    )
    index, entry = directory_search(calendar.config, "налог")[0]
    call_refer(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=operator,
        entry_index=index,
        send=True,
    )
    sent = session.exec(
        select(OutgoingMessage).where(
            OutgoingMessage.client_id == client.id,
            OutgoingMessage.kind == MessageKind.REFERRAL.value,
        )
    ).all()
    assert {m.channel for m in sent} == {"email", "sms"}
    assert all(entry.phone in (m.body + m.short_body) for m in sent)
    closed = call_close(
        session=session,
        calendar=calendar,
        call_id=call.id,
        staff=operator,
        outcome=CallOutcome.REFERRED,
    )
    assert closed.referral.startswith("Федеральная налоговая служба, телефон 8-800-222-22-22")
    assert HistoryKind.LINE_REFERRAL.value in _kinds(session, client.id)


def test_referral_cannot_be_sent_to_an_anonymous_caller(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    call = call_open(session=session, staff=operator)
    with pytest.raises(InvalidInput) as refused:
        call_refer(
            session=session,
            config=calendar.config,
            call_id=call.id,
            staff=operator,
            entry_index=0,
            send=True,
        )
    assert "найдите или зарегистрируйте клиента" in refused.value.message


def test_crisis_phrases_use_the_first_name_and_patronymic(session: Session) -> None:
    phrases = crisis_phrases(make_client(session))
    assert phrases[0].startswith("Иван Петрович, давайте возьмем паузу в обсуждении")
    assert phrases[1].startswith("Иван Петрович, мы заинтересованы в дальнейшем деловом")


def test_non_business_call_ends_only_after_the_warning(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    call = call_open(session=session, staff=operator)
    with pytest.raises(RuleViolation) as refused:
        call_close(
            session=session,
            calendar=calendar,
            call_id=call.id,
            staff=operator,
            outcome="non_business",
        )
    warning = "Разговор носит неделовой характер, поэтому я вынуждена его прекратить. До свидания."
    assert non_business_warning(operator) == warning  # Наталья Григорьевна Белова
    assert warning in refused.value.message
    closed = call_close(
        session=session,
        calendar=calendar,
        call_id=call.id,
        staff=operator,
        outcome="non_business",
        warning_said=True,
    )
    assert closed.warning == warning and closed.status == CallStatus.CLOSED


def test_closing_needs_the_topic_and_a_matching_step(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    call = call_open(session=session, staff=operator)
    with pytest.raises(InvalidInput, match="тему"):
        call_close(
            session=session, calendar=calendar, call_id=call.id, staff=operator, outcome="answered"
        )
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=operator,
        topic="booking",
        service_id=None,
        note="",
    )
    for outcome, words in (("booked", "запись не создана"), ("callback", "Перезвон не оформлен")):
        with pytest.raises(InvalidInput, match=words):
            call_close(
                session=session, calendar=calendar, call_id=call.id, staff=operator, outcome=outcome
            )
    with pytest.raises(InvalidInput, match="итог"):
        call_close(
            session=session, calendar=calendar, call_id=call.id, staff=operator, outcome="maybe"
        )
    call_close(
        session=session, calendar=calendar, call_id=call.id, staff=operator, outcome="answered"
    )
    with pytest.raises(Conflict):
        call_close(
            session=session, calendar=calendar, call_id=call.id, staff=operator, outcome="answered"
        )


def test_booking_made_during_the_call_is_linked(session: Session, calendar: WorkCalendar) -> None:
    operator = staff_by_login(session, "operator")
    client = make_client(session)
    call = call_open(session=session, staff=operator, now=datetime.now(UTC) - timedelta(minutes=3))
    call_client_set(session=session, call_id=call.id, staff=operator, client_id=client.id)
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=operator,
        topic="booking",
        service_id=None,
        note="",
    )
    booking = booking_create(
        session=session,
        calendar=calendar,
        client_id=client.id,
        service_id=service_by_code(session, "land-lease").id,
        staff_id=staff_by_login(session, "ivanova").id,
        starts_at=next_working_moment(calendar, days_ahead=2),
        remind_day_before=False,
        remind_two_hours_before=False,
        staff=operator,
    ).booking
    call_close(
        session=session, calendar=calendar, call_id=call.id, staff=operator, outcome="booked"
    )
    card = call_card(session, config=calendar.config, call_id=call.id)
    assert [(b.id, action) for b, action in card.bookings] == [(booking.id, "booked")]
    assert card.seconds >= 180
    line = session.exec(
        select(HistoryEntry).where(
            HistoryEntry.client_id == client.id, HistoryEntry.kind == HistoryKind.LINE_CALL.value
        )
    ).one()
    assert f"код {booking.code} (создана)" in line.summary
    assert "Разговор длился 3 минуты" in line.summary


# ---------------------------------------------------------------- §4 history


def test_every_step_is_in_the_history_also_when_the_caller_is_named_late(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    ivanova = staff_by_login(session, "ivanova")
    client = make_client(session)
    call = call_open(session=session, staff=operator)
    # Handed over before the caller gave a name: nothing to write yet.
    call_handover(
        session=session, call_id=call.id, staff=operator, to_staff_id=ivanova.id, note="Аренда"
    )
    assert _kinds(session, client.id) == [HistoryKind.CLIENT_REGISTERED]
    call_client_set(session=session, call_id=call.id, staff=ivanova, client_id=client.id)
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=ivanova,
        topic="application",
        service_id=service_by_code(session, "land-lease").id,
        note="Когда будет готов договор аренды",
    )
    callback = callback_promise(
        session=session,
        calendar=calendar,
        call_id=call.id,
        staff=ivanova,
        phone=client.phone,
        working_days=2,
        intervals=callback_intervals_parse([("10:00", "12:00")]),
    )
    call_close(
        session=session, calendar=calendar, call_id=call.id, staff=ivanova, outcome="callback"
    )
    callback_close(
        session=session, callback_id=callback.id, staff=ivanova, answer="Договор готов, подпишите"
    )
    assert _kinds(session, client.id) == [
        HistoryKind.CLIENT_REGISTERED,
        HistoryKind.LINE_CALL,  # written at the close, dated when the phone rang
        HistoryKind.LINE_HANDOVER,
        HistoryKind.CALLBACK_PROMISED,
        HistoryKind.CALLBACK_DONE,
    ]
    entries = {
        e.kind: e
        for e in session.exec(select(HistoryEntry).where(HistoryEntry.client_id == client.id))
    }
    assert (
        "переключён на Марию Петровну Иванову (главный специалист)"
        in entries["line_handover"].summary
    )
    assert entries["line_handover"].actor == operator.full_name
    assert "Тема: Статус заявления (Аренда земельного участка)" in entries["line_call"].summary
    assert "Итог: Обещан перезвон" in entries["line_call"].summary
    assert "Ответ: Договор готов, подпишите. Ответ дан в срок." in entries["callback_done"].summary
    with pytest.raises(Conflict):
        callback_close(session=session, callback_id=callback.id, staff=ivanova, answer="Ещё раз")


# ---------------------------------------------------------------- reports


def test_report_counts_calls_by_day_and_topic_first_contact_and_call_backs(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    ivanova = staff_by_login(session, "ivanova")
    day = date(2026, 12, 7)
    opened = _local(calendar, day, 10)

    def call(topic: str, *, handover: bool = False) -> int:
        made = call_open(session=session, staff=operator, now=opened)
        call_details_set(
            session=session,
            config=calendar.config,
            call_id=made.id,
            staff=operator,
            topic=topic,
            service_id=None,
            note="",
        )
        if handover:
            call_handover(session=session, call_id=made.id, staff=operator, to_staff_id=ivanova.id)
        return made.id

    def close(call_id: int, outcome: str, staff: object = operator, **kw: object) -> None:
        call_close(
            session=session,
            calendar=calendar,
            call_id=call_id,
            staff=staff,  # type: ignore[arg-type]
            outcome=outcome,
            now=opened + timedelta(minutes=4),
            **kw,  # type: ignore[arg-type]
        )

    close(call("hours"), "answered")  # first contact
    close(call("hours", handover=True), "answered", staff=ivanova)  # answered after a hand-over
    close(call("other"), "non_business", warning_said=True)
    kept, late = call("application"), call("application")
    for call_id in (kept, late):
        promised = callback_promise(
            session=session,
            calendar=calendar,
            call_id=call_id,
            staff=operator,
            phone="+79130001122",
            working_days=1,
            intervals=[],
            now=opened,
        )
        close(call_id, "callback")
        callback_close(
            session=session,
            callback_id=promised.id,
            staff=operator,
            answer="Ответ",
            now=promised.late_after
            + (timedelta(hours=1) if call_id == late else -timedelta(hours=1)),
        )
    report = calls_report(
        session, calendar=calendar, date_from=day, date_to=day, now=opened + timedelta(days=5)
    )
    assert report.total == report.closed == 5
    assert report.first_contact == 1 and report.first_contact_share == 0.2
    assert report.handovers == report.handed_calls == 1
    assert report.non_business == 1
    assert (report.callbacks, report.callbacks_on_time, report.callbacks_late) == (2, 1, 1)
    assert report.mean_minutes == 4
    (row,) = report.by_day
    assert row.day == day and row.total == 5
    assert row.by_topic["hours"] == 2 and row.by_topic["application"] == 2
    # A specialist's report holds only the calls they took part in.
    mine = calls_report(session, calendar=calendar, date_from=day, date_to=day, staff_id=ivanova.id)
    assert mine.total == 1 and mine.handovers == 1


# ---------------------------------------------------------------- §4 retention and merging


def test_calls_older_than_five_years_are_purged_with_their_steps(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    client = make_client(session)
    long_ago = datetime.now(UTC) - timedelta(days=366 * 5 + 2)
    old = call_open(session=session, staff=operator, now=long_ago)
    call_client_set(session=session, call_id=old.id, staff=operator, client_id=client.id)
    call_handover(
        session=session,
        call_id=old.id,
        staff=operator,
        to_staff_id=staff_by_login(session, "ivanova").id,
        now=long_ago,
    )
    recent = call_open(session=session, staff=operator)
    report = history_purge(session=session)
    assert report.calls == 1
    assert "Звонков на консультационную линию удалено: 1" in report.lines()
    assert session.get(Call, old.id) is None
    assert session.exec(select(CallHandover).where(CallHandover.call_id == old.id)).first() is None
    assert session.get(Call, recent.id) is not None


def test_merging_a_duplicate_moves_its_calls_and_call_backs(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    kept, duplicate = make_client(session), make_client(session, surname="Петроов")
    call = call_open(session=session, staff=operator)
    call_client_set(session=session, call_id=call.id, staff=operator, client_id=duplicate.id)
    promised = callback_promise(
        session=session,
        calendar=calendar,
        call_id=call.id,
        staff=operator,
        phone=duplicate.phone,
        working_days=2,
        intervals=[],
    )
    result = client_merge(
        session=session, source_id=duplicate.id, target_id=kept.id, staff=operator
    )
    assert result.moved["calls"] == 1 and result.moved["callbacks"] == 1
    session.refresh(promised)
    assert session.get(Call, call.id).client_id == kept.id  # type: ignore[union-attr]
    assert promised.client_id == kept.id


def test_colleague_sees_the_callers_history_and_the_export_holds_the_call(
    session: Session, calendar: WorkCalendar
) -> None:
    operator = staff_by_login(session, "operator")
    popov = staff_by_login(session, "popov")
    client = make_client(session)
    assert not history_can_view(session, staff=popov, client_id=client.id)
    call = call_open(session=session, staff=operator)
    call_client_set(session=session, call_id=call.id, staff=operator, client_id=client.id)
    call_handover(session=session, call_id=call.id, staff=operator, to_staff_id=popov.id)
    # §23: the colleague answering the call may read the caller's history.
    assert history_can_view(session, staff=popov, client_id=client.id)
    assert not history_can_view(
        session, staff=staff_by_login(session, "volkova"), client_id=client.id
    )
    call_details_set(
        session=session,
        config=calendar.config,
        call_id=call.id,
        staff=popov,
        topic="hours",
        service_id=None,
        note="",
    )
    call_close(session=session, calendar=calendar, call_id=call.id, staff=popov, outcome="answered")
    exported = history_export(
        session=session, calendar=calendar, staff=operator, client_id=client.id, fmt="json"
    ).content.decode()
    assert '"kind": "line_call"' in exported and '"kind": "line_handover"' in exported
    assert "Звонок на консультационную линию" in exported


def test_demo_morning_has_the_line_with_a_call_back_waiting(
    session: Session, office_config: OfficeConfig
) -> None:
    demo_calendar = WorkCalendar(office_config, always_open=True)
    demo_seed(session=session, calendar=demo_calendar)
    calls = session.exec(select(Call)).all()
    assert sorted(c.outcome or "" for c in calls) == ["answered", "callback", "referred"]
    waiting = callbacks_list(session, staff=staff_by_login(session, "ivanova"))
    assert [r.callback.done_at for r in waiting] == [None]
