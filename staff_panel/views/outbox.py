"""Messages and calls: the outbox with each row's state, and the phone operators' call tasks."""

from __future__ import annotations

from flask import request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.models import CHANNEL_LABELS, MessageKind, MessageStatus, Role
from visits.notify.outbox import outbox_counts, outbox_recent
from visits.notify.templates import call_addressee
from visits.queries.calls import callbacks_list
from visits.services.call_tasks import OPERATORS_TOPIC, call_task_done, call_tasks_list
from visits.services.calls import intervals_text
from visits.services.clients import phone_display
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import hx_redirect, is_fragment_request, render
from visits.web.sse import sse_response

STATUS_LABELS = {
    MessageStatus.QUEUED: "в очереди",
    MessageStatus.SENDING: "отправляется",
    MessageStatus.SENT: "отправлено",
    MessageStatus.FAILED: "не отправлено",
    MessageStatus.SKIPPED: "не отправлялось",
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
# Specialists see «Звонки» too: the call-backs promised in their name (§24).
nav_item(
    "staff_panel.calls", "Звонки", Role.OPERATOR, Role.SPECIALIST, Role.ADMINISTRATOR, order=40
)


@bp.route("/outbox")
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def outbox() -> ResponseReturnValue:
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
@staff_required(Role.OPERATOR, Role.SPECIALIST, Role.ADMINISTRATOR)
def calls() -> ResponseReturnValue:
    """Whom to call and why: promised call-backs (§24) and the operators' tasks, open first."""
    staff = current_staff()
    assert staff is not None
    operator = staff.has_role(Role.OPERATOR) or staff.has_role(Role.ADMINISTRATOR)
    return render(
        "staff_panel/pages/calls.html",
        "staff_panel/partials/_calls_list.html",
        rows=call_tasks_list(db()) if operator else [],
        callbacks=callbacks_list(db(), staff=staff),
        operator=operator,
        CHANNELS=CHANNELS,
        phone_display=phone_display,
        intervals_text=intervals_text,
        call_addressee=call_addressee,
    )


@bp.route("/calls/<int:task_id>/done", methods=["POST"])
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def call_done(task_id: int) -> ResponseReturnValue:
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
@staff_required(Role.OPERATOR, Role.SPECIALIST, Role.ADMINISTRATOR)
def calls_events() -> Response:
    """SSE for «Звонки»: call tasks and call-backs for operators, a specialist's own call-backs."""
    staff = current_staff()
    assert staff is not None
    topics = [f"staff:{staff.id}"]
    if staff.has_role(Role.OPERATOR) or staff.has_role(Role.ADMINISTRATOR):
        topics.append(OPERATORS_TOPIC)
    db().close()
    return sse_response(topics, priyom().session_factory)
