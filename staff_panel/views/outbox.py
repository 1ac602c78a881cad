"""Messages and calls: the outbox with each row's state, and the phone operators' call tasks."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from werkzeug.wrappers import Response

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.models import CHANNEL_LABELS, MessageKind, MessageStatus, Role
from visits.notify.outbox import outbox_counts, outbox_recent
from visits.services.call_tasks import OPERATORS_TOPIC, call_task_done, call_tasks_list
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import hx_redirect, is_fragment_request, render
from visits.web.sse import sse_response

STATUS_LABELS = {
    MessageStatus.QUEUED.value: "в очереди",
    MessageStatus.SENDING.value: "отправляется",
    MessageStatus.SENT.value: "отправлено",
    MessageStatus.FAILED.value: "не отправлено",
    MessageStatus.SKIPPED.value: "не отправлялось",
}
KIND_LABELS = {
    MessageKind.CONFIRMATION.value: "Подтверждение записи",
    MessageKind.REMINDER_DAY.value: "Напоминание за день",
    MessageKind.REMINDER_TWO_HOURS.value: "Напоминание за 2 часа",
    MessageKind.CANCELLATION.value: "Отмена записи",
    MessageKind.ROOM_CHANGE.value: "Смена кабинета",
    MessageKind.FINAL.value: "Итог визита и опрос",
    MessageKind.HISTORY_EXPORT.value: "Выписка истории",
}
CHANNELS = {c.value: label for c, label in CHANNEL_LABELS.items()}

nav_item("staff_panel.outbox", "Сообщения", Role.OPERATOR, Role.ADMINISTRATOR, order=30)
nav_item("staff_panel.calls", "Звонки", Role.OPERATOR, Role.ADMINISTRATOR, order=40)


@bp.route("/outbox")
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def outbox() -> Any:
    """Every outgoing message with its state; ?status= filters."""
    status = request.args.get("status", "")
    if status not in STATUS_LABELS:
        status = ""
    return render(
        "staff_panel/pages/outbox.html",
        "staff_panel/partials/_outbox_list.html",
        rows=outbox_recent(db(), status=status or None),
        counts=outbox_counts(db()),
        current_status=status,
        STATUS_LABELS=STATUS_LABELS,
        KIND_LABELS=KIND_LABELS,
        CHANNELS=CHANNELS,
    )


@bp.route("/calls")
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def calls() -> Any:
    """The phone operators' list: whom to call and why, open tasks first."""
    return render(
        "staff_panel/pages/calls.html",
        "staff_panel/partials/_calls_list.html",
        rows=call_tasks_list(db()),
        CHANNELS=CHANNELS,
    )


@bp.route("/calls/<int:task_id>/done", methods=["POST"])
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def call_done(task_id: int) -> Any:
    """The operator called: the row comes back closed (swapped outerHTML)."""
    staff = current_staff()
    assert staff is not None
    row = call_task_done(
        session=db(), task_id=task_id, staff=staff, outcome=request.form.get("outcome", "")
    )
    if not is_fragment_request():
        return hx_redirect(url_for("staff_panel.calls"))
    return render(
        "staff_panel/partials/_calls_row.html",
        "staff_panel/partials/_calls_row.html",
        row=row,
        CHANNELS=CHANNELS,
        trigger={"callsChanged": True},
    )


@bp.route("/calls/events")
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def calls_events() -> Response:
    """SSE for the operators' pages: new and closed call tasks, outbox changes."""
    db().close()
    return sse_response([OPERATORS_TOPIC], priyom().session_factory)
