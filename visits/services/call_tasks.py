"""Call tasks for the phone operators (§3 phone channel, §19, §28).

A task is made when a client's channel is the phone ("позвонить Ивану
Петровичу: напомнить о приёме завтра в 10:30") and when a written message
failed after its last attempt, so nothing the client must know is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from visits.calendar import utcnow
from visits.db import for_update, write_transaction
from visits.errors import Conflict, NotFound
from visits.models import CallTask, Client, HistoryKind, OutgoingMessage, Staff
from visits.push import push_emit
from visits.ru import by_gender_of
from visits.services.history import audit_record, history_record

log = logging.getLogger(__name__)

OPERATORS_TOPIC = "operators"


def call_task_create(
    session: Session,
    *,
    client: Client,
    text: str,
    due_at: datetime | None = None,
    message_id: int | None = None,
    booking_id: int | None = None,
) -> CallTask:
    """Add a task for the phone operators, inside the caller's transaction."""
    assert client.id is not None
    task = CallTask(
        client_id=client.id, message_id=message_id, text=text[:1000], due_at=due_at or utcnow()
    )
    session.add(task)
    session.flush()
    history_record(
        session,
        client_id=client.id,
        kind=HistoryKind.CALL_TASK,
        channel="phone",
        booking_id=booking_id,
        summary=text,
        data={"call_task_id": task.id, "message_id": message_id},
    )
    push_emit(session, "call_task.new", [OPERATORS_TOPIC], call_task_id=task.id)
    return task


@dataclass(frozen=True)
class CallTaskRow:
    task: CallTask
    client: Client
    message: OutgoingMessage | None
    done_by: Staff | None = None


def call_tasks_list(
    session: Session, *, now: datetime | None = None, done_within: timedelta = timedelta(hours=12)
) -> list[CallTaskRow]:
    """Open tasks, the earliest first, then the ones done in the last hours."""
    now = now or utcnow()
    rows = session.exec(
        select(CallTask, Client)
        .join(Client, col(Client.id) == CallTask.client_id)
        .where(or_(col(CallTask.done_at).is_(None), col(CallTask.done_at) >= now - done_within))
        .order_by(col(CallTask.done_at).is_not(None), col(CallTask.due_at), col(CallTask.id))
        .limit(300)
    ).all()
    message_ids = [t.message_id for t, _c in rows if t.message_id is not None]
    messages = (
        {
            m.id: m
            for m in session.exec(
                select(OutgoingMessage).where(col(OutgoingMessage.id).in_(message_ids))
            ).all()
        }
        if message_ids
        else {}
    )
    staff_ids = {t.done_by_staff_id for t, _c in rows if t.done_by_staff_id is not None}
    staff = (
        {s.id: s for s in session.exec(select(Staff).where(col(Staff.id).in_(staff_ids))).all()}
        if staff_ids
        else {}
    )
    return [
        CallTaskRow(
            task=t,
            client=c,
            message=messages.get(t.message_id) if t.message_id else None,
            done_by=staff.get(t.done_by_staff_id) if t.done_by_staff_id else None,
        )
        for t, c in rows
    ]


def call_task_get(session: Session, *, task_id: int) -> CallTaskRow:
    """One task with its client and message (to re-render its row)."""
    task = session.get(CallTask, task_id)
    if task is None:
        raise NotFound("Задача не найдена.")
    client = session.get(Client, task.client_id)
    assert client is not None
    message = session.get(OutgoingMessage, task.message_id) if task.message_id else None
    done_by = session.get(Staff, task.done_by_staff_id) if task.done_by_staff_id else None
    return CallTaskRow(task=task, client=client, message=message, done_by=done_by)


def call_task_done(
    *, session: Session, task_id: int, staff: Staff, outcome: str = "", now: datetime | None = None
) -> CallTaskRow:
    """The operator called the client: close the task and write it into the history (§4)."""
    now = now or utcnow()
    with write_transaction(session):
        task = session.get(
            CallTask, task_id, with_for_update=for_update(session), populate_existing=True
        )
        if task is None:
            raise NotFound("Задача не найдена.")
        if task.done_at is not None:
            raise Conflict("Эту задачу уже закрыл другой оператор.", code="call_task_done")
        task.done_at = now
        task.done_by_staff_id = staff.id
        task.outcome = outcome.strip()[:300]
        session.add(task)
        history_record(
            session,
            client_id=task.client_id,
            kind=HistoryKind.CALL_TASK_DONE,
            staff=staff,
            channel="phone",
            summary=f"{staff.full_name} {by_gender_of(staff, 'позвонил', 'позвонила')} клиенту: {task.text}"
            + (f". Итог: {task.outcome}" if task.outcome else ""),
            data={"call_task_id": task.id},
        )
        audit_record(
            session,
            staff=staff,
            action="call_task.done",
            client_id=task.client_id,
            details=f"задача {task.id}",
        )
        push_emit(session, "call_task.done", [OPERATORS_TOPIC], call_task_id=task.id)
    log.info("call task %s done by %s", task_id, staff.login)
    return call_task_get(session, task_id=task_id)
