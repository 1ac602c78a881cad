"""The consultation line (order part III, §18-27): call cards, hand-overs, call-backs, referrals.

A call card is opened when the phone rings and closed with an outcome. Each step
that concerns a known caller is written into their history (§4) inside the same
transaction; steps taken while the caller was still anonymous are written when
the caller is found (with their own times), so the history misses none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from visits.calendar import WorkCalendar, utcnow
from visits.config import CallTopic, DirectoryEntry, OfficeConfig
from visits.db import for_update, write_transaction
from visits.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from visits.models import (
    CALL_OUTCOME_LABELS,
    Booking,
    Call,
    CallBack,
    CallBooking,
    CallHandover,
    CallOutcome,
    CallStatus,
    Client,
    HistoryKind,
    MessageKind,
    Role,
    Service,
    Staff,
)
from visits.notify.outbox import message_queue
from visits.notify.templates import MessageText
from visits.push import push_emit
from visits.queries.calls import bookings_during
from visits.ru import Case, by_gender_of, date_with_weekday, decline_name, minutes_phrase
from visits.rules import MAX_TRANSFERS
from visits.services.call_tasks import OPERATORS_TOPIC
from visits.services.clients import phone_display, phone_normalise
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

# §23: at most two hand-overs to other colleagues within one contact. The cap is the
# queue's own (a visit's ticket is transferred at most twice by the same item).
MAX_HANDOVERS = MAX_TRANSFERS

# §23: at most two hand-overs (the number itself stays out of the operator's screen).
HANDOVER_CAP = (
    "Звонок уже переключали дважды. Больше переключать нельзя: ответьте сами "
    "или пообещайте перезвонить, когда ответ будет готов."
)
NOT_YOURS = (
    "Этот звонок ведёт {name}. Изменить карточку может только этот сотрудник или администратор."
)
CALL_CLOSED = "Звонок уже завершён. Откройте новую карточку."


def non_business_warning(staff: Staff) -> str:
    """§27: the warning said before a non-business call is ended, in the speaker's gender."""
    forced = by_gender_of(staff, "вынужден", "вынуждена")
    return f"Разговор носит неделовой характер, поэтому я {forced} его прекратить. До свидания."


def _crisis_templates() -> tuple[str, str]:
    """§27.1: the order's own phrases; the caller's first name and patronymic go first."""
    return (
        "{name}, давайте возьмем паузу в обсуждении данного вопроса и вернемся к его решению "
        "после уточнения информации и совещания с коллегами.",
        "{name}, мы заинтересованы в дальнейшем деловом сотрудничестве, однако решение данной "
        "проблемы требует времени и уточнения информации.",
    )


def crisis_phrases(client: Client | None) -> list[str]:
    """§27: the phrases to say, with the caller's first name and patronymic filled in."""
    name = client.address_name if client is not None else "(Имя Отчество)"
    return [template.format(name=name) for template in _crisis_templates()]


def topic_of(config: OfficeConfig, key: str) -> CallTopic | None:
    return next((t for t in config.consultation.topics if t.key == key), None)


def handover_sentence(*, client: Client | None, colleague: Staff) -> str:
    """§23: what the caller hears before the switch: who will answer, by name and position."""
    who = f"{colleague.full_name}, {colleague.position.lower()}" if colleague.position else ""
    who = who or colleague.full_name
    unit = f" ({colleague.unit.lower()})" if colleague.unit else ""
    opening = f"{client.address_name}, сейчас" if client is not None else "Сейчас"
    pronoun = by_gender_of(colleague, "Он", "Она")
    return (
        f"{opening} я переключу ваш звонок на коллегу: {who}{unit}. "
        f"{pronoun} ответит на ваш вопрос. Пожалуйста, оставайтесь на линии."
    )


def staff_accusative(staff: Staff) -> str:
    """ "Марию Петровну Иванову": whom the call was switched to."""
    return decline_name(
        first_name=staff.first_name,
        patronymic=staff.patronymic,
        surname=staff.surname,
        case=Case.ACCUSATIVE,
    )


# ---------------------------------------------------------------- reading for change


def _staff_name(session: Session, staff_id: int) -> str:
    staff = session.get(Staff, staff_id)
    return staff.full_name if staff else "другой сотрудник"


def _call_for_change(session: Session, *, call_id: int, staff: Staff) -> Call:
    """The call, locked; refused when closed or when another staff member has it."""
    call = session.get(Call, call_id, with_for_update=for_update(session), populate_existing=True)
    if call is None:
        raise NotFound("Звонок не найден.")
    if call.status != CallStatus.OPEN:
        raise Conflict(CALL_CLOSED, code="call_closed")
    if call.staff_id != staff.id and not staff.has_role(Role.ADMINISTRATOR):
        raise Forbidden(
            NOT_YOURS.format(name=_staff_name(session, call.staff_id)), code="call_not_yours"
        )
    return call


def _history(
    session: Session,
    call: Call,
    *,
    kind: HistoryKind,
    staff: Staff,
    summary: str,
    at: datetime | None = None,
    data: dict[str, object] | None = None,
) -> None:
    """§4: a step of a known caller's call is a touch point of their history."""
    if call.client_id is None:
        return
    history_record(
        session,
        client_id=call.client_id,
        kind=kind,
        staff=staff,
        channel="phone",
        summary=summary,
        at=at,
        data={"call_id": call.id, **(data or {})},
    )


# ---------------------------------------------------------------- the call card


def call_open(*, session: Session, staff: Staff, now: datetime | None = None) -> Call:
    """The phone rings: a new card, timed from now (§18)."""
    if not (staff.has_role(Role.OPERATOR) or staff.has_role(Role.ADMINISTRATOR)):
        raise Forbidden("Новый звонок открывает оператор консультационной линии.")
    assert staff.id is not None
    with write_transaction(session):
        call = Call(opened_at=now or utcnow(), opened_by_staff_id=staff.id, staff_id=staff.id)
        session.add(call)
        session.flush()
        audit_record(session, staff=staff, action="call.open", details=f"звонок {call.id}")
    log.info("call %s opened by %s", call.id, staff.login)
    return call


def call_client_set(*, session: Session, call_id: int, staff: Staff, client_id: int | None) -> Call:
    """Name the caller (a found or registered client) or keep the call anonymous (None)."""
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        if client_id is not None and session.get(Client, client_id) is None:
            raise NotFound("Клиент не найден.")
        if call.client_id == client_id:
            return call
        if call.client_id is not None and _has_history(session, call):
            raise Conflict(
                "Шаги этого звонка уже записаны в историю другого клиента. "
                "Откройте новую карточку для другого человека.",
                code="call_client_fixed",
            )
        call.client_id = client_id
        session.add(call)
        if client_id is not None:
            _history_backfill(session, call)
        audit_record(
            session,
            staff=staff,
            action="call.client",
            client_id=client_id,
            details=f"звонок {call.id}" + ("" if client_id else ": анонимно"),
        )
    return call


def _has_history(session: Session, call: Call) -> bool:
    handed = session.exec(select(CallHandover.id).where(CallHandover.call_id == call.id)).first()
    promised = session.exec(select(CallBack.id).where(CallBack.call_id == call.id)).first()
    return handed is not None or promised is not None or bool(call.referral)


def _history_backfill(session: Session, call: Call) -> None:
    """The caller was found after some steps: write those steps with their own times (§4)."""
    for handover in session.exec(
        select(CallHandover).where(CallHandover.call_id == call.id).order_by(col(CallHandover.id))
    ).all():
        sender = session.get(Staff, handover.from_staff_id)
        assert sender is not None
        _handover_history(session, call, handover, staff=sender)
    for callback in session.exec(select(CallBack).where(CallBack.call_id == call.id)).all():
        callback.client_id = call.client_id
        session.add(callback)
        promiser = session.get(Staff, callback.promised_by_staff_id)
        assert promiser is not None
        _callback_promised_history(session, call, callback, staff=promiser)


def call_details_set(
    *,
    session: Session,
    config: OfficeConfig,
    call_id: int,
    staff: Staff,
    topic: str,
    service_id: int | None,
    note: str,
) -> Call:
    """§21: the need as found out: the topic from the office's list, the service, a short note."""
    chosen = topic_of(config, topic) if topic else None
    if topic and chosen is None:
        raise InvalidInput("Такой темы нет в списке. Выберите тему из списка.", field="topic")
    if service_id is not None and session.get(Service, service_id) is None:
        raise InvalidInput("Такой услуги нет. Выберите услугу из списка.", field="service")
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        call.topic = chosen.key if chosen else ""
        call.service_id = service_id
        call.note = note.strip()[:1000]
        session.add(call)
    return call


# ---------------------------------------------------------------- hand-over (§23)


def _handover_summary(session: Session, handover: CallHandover) -> str:
    colleague = session.get(Staff, handover.to_staff_id)
    assert colleague is not None
    place = f" ({colleague.position.lower()})" if colleague.position else ""
    text = f"Звонок переключён на {staff_accusative(colleague)}{place}. Клиенту сказали: «{handover.said}»"
    return text + (f" Заметка: {_sentence(handover.note)}" if handover.note else "")


def _handover_history(
    session: Session, call: Call, handover: CallHandover, *, staff: Staff
) -> None:
    """Write a hand-over into a known caller's history at its own time (§4, §23)."""
    _history(
        session,
        call,
        kind=HistoryKind.LINE_HANDOVER,
        staff=staff,
        summary=_handover_summary(session, handover),
        at=handover.at,
    )


def _sentence(text: str) -> str:
    """A free text the staff typed, ended with a full stop so the next sentence reads apart."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "»")) else f"{text}."


def call_handover(
    *,
    session: Session,
    call_id: int,
    staff: Staff,
    to_staff_id: int,
    note: str = "",
    now: datetime | None = None,
) -> CallHandover:
    """§23: switch the call to a colleague, the caller told first; at most two per call."""
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        # §23: at most two hand-overs to other colleagues within one call.
        if call.handover_count >= MAX_HANDOVERS:
            raise RuleViolation(HANDOVER_CAP, code="handover_cap")
        colleague = session.get(Staff, to_staff_id)
        if colleague is None or not colleague.active:
            raise InvalidInput("Такого сотрудника нет. Выберите коллегу из списка.", field="to")
        if colleague.id == call.staff_id:
            raise InvalidInput("Звонок уже у этого сотрудника. Выберите другого.", field="to")
        client = session.get(Client, call.client_id) if call.client_id else None
        if note.strip():
            call.note = note.strip()[:1000]
        handover = CallHandover(
            call_id=call.id or 0,
            from_staff_id=call.staff_id,
            to_staff_id=to_staff_id,
            said=handover_sentence(client=client, colleague=colleague)[:600],
            note=call.note,
            at=now or utcnow(),
        )
        session.add(handover)
        call.handover_count += 1
        call.staff_id = to_staff_id
        session.add(call)
        session.flush()
        _handover_history(session, call, handover, staff=staff)
        audit_record(
            session,
            staff=staff,
            action="call.handover",
            client_id=call.client_id,
            details=f"звонок {call.id} -> {colleague.login} ({call.handover_count} из "
            f"{MAX_HANDOVERS})",
        )
        # The colleague's panel shows the call with its note at once.
        push_emit(session, "call.handover", [f"staff:{to_staff_id}"], call_id=call.id)
    log.info("call %s handed over to %s by %s", call_id, colleague.login, staff.login)
    return handover


# ---------------------------------------------------------------- call-backs (§24)


Interval = tuple[time, time]


def callback_intervals_parse(pairs: Sequence[tuple[str, str]]) -> list[Interval]:
    """The caller's convenient times as typed ("10:00", "12:00"); empty pairs are skipped."""
    result: list[Interval] = []
    for start_raw, end_raw in pairs:
        start_raw, end_raw = start_raw.strip(), end_raw.strip()
        if not start_raw and not end_raw:
            continue
        try:
            start, end = time.fromisoformat(start_raw), time.fromisoformat(end_raw)
        except ValueError:
            raise InvalidInput(
                "Время звонка укажите так: с 10:00 до 12:00.", field="intervals"
            ) from None
        if end <= start:
            raise InvalidInput(
                "Конец удобного времени должен быть позже начала.", field="intervals"
            )
        result.append((start, end))
    return result


def callback_deadline(calendar: WorkCalendar, *, promised_at: datetime, working_days: int) -> date:
    """§24: the day the answer is promised by: `working_days` office working days after today."""
    day = calendar.to_local(promised_at).date()
    for _ in range(working_days):
        day = calendar.next_working_day(day)
    return day


def callback_due(
    calendar: WorkCalendar, *, start: datetime, intervals: Sequence[Interval]
) -> datetime:
    """The first moment from `start` in the caller's times and the working hours (§14, §19)."""
    wanted = list(intervals) or [(time.min, time.max)]
    day = calendar.to_local(start).date()
    # A bounded walk: a caller's hours that never meet the working hours are refused below.
    for _ in range(60):
        best: datetime | None = None
        for period in calendar.periods_on(day):
            for begin, end in wanted:
                window_start = max(period.start, calendar.at(day, begin))
                window_end = min(period.end, calendar.at(day, end))
                if window_end <= window_start or window_end <= start:
                    continue
                moment = max(window_start, start)
                best = moment if best is None else min(best, moment)
        if best is not None:
            return best.astimezone(UTC)
        day += timedelta(days=1)
    # §14, §19: clients are called in the department's working hours only.
    raise InvalidInput(
        "В это время департамент не работает, а звонить клиентам можно только в рабочие часы. "
        "Уточните у клиента другое удобное время.",
        field="intervals",
    )


def _late_after(calendar: WorkCalendar, answer_by: date) -> datetime:
    periods = calendar.periods_on(answer_by)
    end = periods[-1].end if periods else calendar.at(answer_by + timedelta(days=1), time.min)
    return end.astimezone(UTC)


def intervals_text(intervals: Sequence[Sequence[str]]) -> str:
    if not intervals:
        return "в любое рабочее время"
    return ", ".join(f"с {a} до {b}" for a, b in intervals)


def _callback_summary(session: Session, callback: CallBack) -> str:
    responsible = _staff_name(session, callback.staff_id)
    text = (
        f"Обещан ответ по телефону {phone_display(callback.phone)} "
        f"до {callback.answer_by:%d.%m.%Y}, удобное время: {intervals_text(callback.intervals)}. "
        f"Отвечает {responsible}."
    )
    return text + (f" Вопрос: {_sentence(callback.question)}" if callback.question else "")


def _callback_promised_history(
    session: Session, call: Call, callback: CallBack, *, staff: Staff
) -> None:
    """Write a call-back promise into a known caller's history at its own time (§4, §24)."""
    _history(
        session,
        call,
        kind=HistoryKind.CALLBACK_PROMISED,
        staff=staff,
        summary=_callback_summary(session, callback),
        at=callback.created_at,
        data={"callback_id": callback.id},
    )


def _callback_push(session: Session, kind: str, callback: CallBack) -> None:
    """Tell the responsible colleague's panel and the operators' list of a call-back's change."""
    push_emit(
        session, kind, [f"staff:{callback.staff_id}", OPERATORS_TOPIC], callback_id=callback.id
    )


def _callback_responsible(session: Session, *, staff: Staff, responsible_id: int | None) -> Staff:
    """Pick who answers the call-back: the chosen colleague, or the one who promised."""
    responsible = session.get(Staff, responsible_id) if responsible_id else staff
    if responsible is None or not responsible.active:
        raise InvalidInput("Такого сотрудника нет. Выберите из списка.", field="responsible")
    return responsible


def _callback_promise_record(
    session: Session, *, call: Call, callback: CallBack, staff: Staff
) -> None:
    """Write the promise into the caller's history and the audit; tell the responsible."""
    _callback_promised_history(session, call, callback, staff=staff)
    audit_record(
        session,
        staff=staff,
        action="callback.promise",
        client_id=call.client_id,
        details=f"звонок {call.id}, перезвон {callback.id}",
    )
    _callback_push(session, "callback.new", callback)


def callback_promise(
    *,
    session: Session,
    calendar: WorkCalendar,
    call_id: int,
    staff: Staff,
    phone: str,
    working_days: int,
    intervals: Sequence[Interval],
    question: str = "",
    responsible_staff_id: int | None = None,
    now: datetime | None = None,
) -> CallBack:
    """§24: take the phone, tell the deadline, agree convenient times; a task for the responsible."""
    now = now or utcnow()
    number = phone_normalise(phone)
    if not 1 <= working_days <= 30:
        raise InvalidInput("Срок ответа: от 1 до 30 рабочих дней.", field="working_days")
    answer_by = callback_deadline(calendar, promised_at=now, working_days=working_days)
    due_at = callback_due(calendar, start=now, intervals=intervals)
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        responsible = _callback_responsible(
            session, staff=staff, responsible_id=responsible_staff_id
        )
        callback = CallBack(
            call_id=call.id or 0,
            client_id=call.client_id,
            staff_id=responsible.id or 0,
            promised_by_staff_id=staff.id or 0,
            phone=number,
            question=(question.strip() or call.note)[:1000],
            answer_by=answer_by,
            intervals=[[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in intervals],
            due_at=due_at,
            late_after=_late_after(calendar, answer_by),
            created_at=now,
        )
        session.add(callback)
        session.flush()
        _callback_promise_record(session, call=call, callback=callback, staff=staff)
    return callback


def callback_deadline_phrase(callback: CallBack) -> str:
    """What the caller is told (§24.2): by which day the answer comes and when we call."""
    return (
        f"Мы позвоним вам с ответом не позже чем {date_with_weekday(callback.answer_by)}, "
        f"{intervals_text(callback.intervals)}, по номеру {phone_display(callback.phone)}."
    )


def _callback_for_close(session: Session, *, callback_id: int, staff: Staff) -> CallBack:
    """Lock the call-back; refuse it when closed or when it is another colleague's task."""
    callback = session.get(
        CallBack, callback_id, with_for_update=for_update(session), populate_existing=True
    )
    if callback is None:
        raise NotFound("Перезвон не найден.")
    if callback.done_at is not None:
        raise Conflict("Этот перезвон уже закрыт.", code="callback_done")
    if not (
        callback.staff_id == staff.id
        or staff.has_role(Role.OPERATOR)
        or staff.has_role(Role.ADMINISTRATOR)
    ):
        raise Forbidden(
            NOT_YOURS.format(name=_staff_name(session, callback.staff_id)).replace(
                "Этот звонок ведёт", "Этот перезвон поручен"
            ),
            code="callback_not_yours",
        )
    return callback


def _callback_done_history(
    session: Session, *, callback: CallBack, staff: Staff, now: datetime
) -> None:
    """Write the answer given into a known caller's history, saying whether it came late."""
    if callback.client_id is None:
        return
    late = now > callback.late_after
    history_record(
        session,
        client_id=callback.client_id,
        kind=HistoryKind.CALLBACK_DONE,
        staff=staff,
        channel="phone",
        summary=(
            f"{staff.full_name} {by_gender_of(staff, 'позвонил', 'позвонила')} клиенту по номеру "
            f"{phone_display(callback.phone)}. Ответ: {_sentence(callback.answer)}"
            + (
                f" Срок ответа ({callback.answer_by:%d.%m.%Y}) пропущен."
                if late
                else " Ответ дан в срок."
            )
        ),
        data={"callback_id": callback.id, "call_id": callback.call_id, "late": late},
    )


def callback_close(
    *, session: Session, callback_id: int, staff: Staff, answer: str, now: datetime | None = None
) -> CallBack:
    """§24.4: the caller was called back; record the answer given."""
    now = now or utcnow()
    text = answer.strip()
    if not text:
        raise InvalidInput("Запишите, какой ответ получил клиент.", field="answer")
    with write_transaction(session):
        callback = _callback_for_close(session, callback_id=callback_id, staff=staff)
        callback.done_at = now
        callback.done_by_staff_id = staff.id
        callback.answer = text[:1000]
        session.add(callback)
        _callback_done_history(session, callback=callback, staff=staff, now=now)
        audit_record(
            session,
            staff=staff,
            action="callback.done",
            client_id=callback.client_id,
            details=f"перезвон {callback.id}",
        )
        _callback_push(session, "callback.done", callback)
    return callback


# ---------------------------------------------------------------- not our remit (§26)


def directory_line(entry: DirectoryEntry) -> str:
    parts = [entry.name, f"телефон {entry.phone}", entry.address]
    if entry.hours:
        parts.append(f"часы работы: {entry.hours}")
    if entry.website:
        parts.append(entry.website)
    return ", ".join(parts)


def call_refer(
    *,
    session: Session,
    config: OfficeConfig,
    call_id: int,
    staff: Staff,
    entry_index: int,
    send: bool,
) -> Call:
    """§26: the caller gets the competent body's contacts; on request also by their channel."""
    if not 0 <= entry_index < len(config.directory):
        raise InvalidInput("Выберите организацию из справочника.", field="entry")
    entry = config.directory[entry_index]
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        client = session.get(Client, call.client_id) if call.client_id else None
        if send and client is None:
            raise InvalidInput(
                "Чтобы отправить контакты, найдите или зарегистрируйте клиента: "
                "без этого их некуда отправить.",
                field="send",
            )
        call.referral = directory_line(entry)[:600]
        session.add(call)
        _history(
            session,
            call,
            kind=HistoryKind.LINE_REFERRAL,
            staff=staff,
            summary=f"Вопрос не в полномочиях департамента. Клиенту даны контакты: {call.referral}"
            + (". Контакты отправлены клиенту." if send else "."),
        )
        if send and client is not None:
            message_queue(
                session,
                client=client,
                kind=MessageKind.REFERRAL,
                staff=staff,
                text=MessageText(
                    subject=f"Контакты: {entry.name}",
                    body=(
                        f"{client.address_name}, ваш вопрос решает {entry.name}.\n"
                        f"Телефон: {entry.phone}\nАдрес: {entry.address}\n"
                        + (f"Часы работы: {entry.hours}\n" if entry.hours else "")
                        + (f"Сайт: {entry.website}\n" if entry.website else "")
                        + f"\n{config.office.name}"
                    ),
                    sms=f"{entry.name}: тел. {entry.phone}, {entry.address}",
                ),
            )
        audit_record(
            session,
            staff=staff,
            action="call.refer",
            client_id=call.client_id,
            details=f"звонок {call.id}: {entry.name}" + (", отправлено" if send else ""),
        )
    return call


# ---------------------------------------------------------------- closing


def _outcome_parse(raw: str) -> CallOutcome:
    try:
        return CallOutcome(raw)
    except ValueError:
        raise InvalidInput("Выберите итог звонка.", field="outcome") from None


def _call_close_check(
    session: Session, *, config: OfficeConfig, call: Call, chosen: CallOutcome, now: datetime
) -> list[tuple[Booking, str]]:
    """Refuse an outcome the card does not bear out; return the bookings made during the call."""
    topic = topic_of(config, call.topic)
    # §21: the need is found out first; only a non-business call may end without it.
    if topic is None and chosen != CallOutcome.NON_BUSINESS:
        raise InvalidInput("Укажите тему звонка: о чём спрашивал клиент.", field="topic")
    bookings = bookings_during(session, call=call, now=now)
    if chosen == CallOutcome.BOOKED and not bookings:
        raise InvalidInput(
            "Во время звонка запись не создана и не отменена. Запишите клиента на приём "
            "или выберите другой итог.",
            field="outcome",
        )
    promised = session.exec(select(CallBack).where(CallBack.call_id == call.id)).all()
    if chosen == CallOutcome.CALLBACK and not promised:
        raise InvalidInput(
            "Перезвон не оформлен: запишите телефон, срок ответа и удобное время.",
            field="outcome",
        )
    if chosen == CallOutcome.REFERRED and not call.referral:
        raise InvalidInput(
            "Выберите в справочнике организацию, контакты которой вы дали клиенту.",
            field="outcome",
        )
    return bookings


def _non_business_end(call: Call, *, staff: Staff, warning_said: bool) -> None:
    """Refuse to end a non-business call before the warning; keep the words said on the call."""
    # §27: a non-business call is ended only after the warning.
    if not warning_said:
        raise RuleViolation(
            "Прежде чем завершить разговор, предупредите клиента: «"
            + non_business_warning(staff)
            + "» Затем отметьте, что предупреждение сказано.",
            code="warning_missing",
        )
    call.warning = non_business_warning(staff)


def _call_close_record(
    session: Session,
    *,
    config: OfficeConfig,
    call: Call,
    staff: Staff,
    chosen: CallOutcome,
    bookings: list[tuple[Booking, str]],
    now: datetime,
) -> None:
    """Link the bookings, close the card and write it into the caller's history and the audit."""
    for booking, action in bookings:
        session.add(CallBooking(call_id=call.id or 0, booking_id=booking.id or 0, action=action))
    call.status = CallStatus.CLOSED
    call.outcome = chosen.value
    call.closed_at = now
    call.closed_by_staff_id = staff.id
    call.duration_seconds = max(0, int((now - call.opened_at).total_seconds()))
    session.add(call)
    _history(
        session,
        call,
        kind=HistoryKind.LINE_CALL,
        staff=staff,
        summary=_call_summary(session, config, call, bookings),
        at=call.opened_at,
        data={"outcome": call.outcome, "topic": call.topic},
    )
    audit_record(
        session,
        staff=staff,
        action="call.close",
        client_id=call.client_id,
        details=f"звонок {call.id}: {call.outcome}",
    )


def call_close(
    *,
    session: Session,
    calendar: WorkCalendar,
    call_id: int,
    staff: Staff,
    outcome: str,
    warning_said: bool = False,
    now: datetime | None = None,
) -> Call:
    """End the call with its outcome; the time on the call and the linked bookings are kept."""
    now = now or utcnow()
    chosen = _outcome_parse(outcome)
    config = calendar.config
    with write_transaction(session):
        call = _call_for_change(session, call_id=call_id, staff=staff)
        bookings = _call_close_check(session, config=config, call=call, chosen=chosen, now=now)
        if chosen == CallOutcome.NON_BUSINESS:
            _non_business_end(call, staff=staff, warning_said=warning_said)
        _call_close_record(
            session,
            config=config,
            call=call,
            staff=staff,
            chosen=chosen,
            bookings=bookings,
            now=now,
        )
    log.info("call %s closed by %s: %s", call_id, staff.login, chosen.value)
    return call


def _call_summary(
    session: Session, config: OfficeConfig, call: Call, bookings: list[tuple[Booking, str]]
) -> str:
    topic = topic_of(config, call.topic)
    service = session.get(Service, call.service_id) if call.service_id else None
    minutes = max(1, round((call.duration_seconds or 0) / 60))
    parts = [f"Тема: {topic.name if topic else 'не названа'}"]
    if service is not None:
        parts[0] += f" ({service.name})"
    if call.note:
        parts.append(f"Заметка: {call.note.strip().rstrip('.')}")
    parts.append(f"Итог: {CALL_OUTCOME_LABELS[call.outcome or '']}")
    if bookings:
        parts.append(
            "Записи во время звонка: "
            + ", ".join(
                f"код {b.code} ({'создана' if action == 'booked' else 'отменена'})"
                for b, action in bookings
            )
        )
    if call.referral:
        parts.append(f"Даны контакты: {call.referral}")
    if call.warning:
        parts.append(f"Клиента предупредили: «{call.warning}»")
    parts.append(f"Переключений: {call.handover_count}")
    parts.append(f"Разговор длился {minutes_phrase(minutes)}")
    return ". ".join(parts) + "."
