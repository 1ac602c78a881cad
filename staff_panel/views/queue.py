"""The specialist's day: today's list, calling and serving, transfers, meeting rooms (§23, §33-35)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request
from werkzeug.wrappers import Response

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import InvalidInput, PriyomError
from visits.models import Role, Staff
from visits.queries.client_card import client_card
from visits.queries.today import (
    TodayBoard,
    TodayRow,
    colleagues,
    meeting_rooms_now,
    today_board,
    today_called,
    today_freed,
    transfer_choices,
)
from visits.rules import COMFORT_REMINDER
from visits.services.access import booking_card_require
from visits.services.department_fault import ticket_department_fault
from visits.services.meeting_rooms import (
    RESERVE_MINUTES,
    ROOM_RESERVED_NOTICE,
    colleague_invite,
    colleague_invite_seen,
    room_release,
    room_reserve,
)
from visits.services.notes import client_card_viewed, client_note_add
from visits.services.queue import (
    CallResult,
    TicketChange,
    ticket_call,
    ticket_call_next,
    ticket_finish_change,
    ticket_no_show,
    ticket_recall,
    ticket_return,
    ticket_start_change,
    ticket_transfer,
)
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import is_fragment_request, render

nav_item("staff_panel.today", "Мой день", Role.SPECIALIST, order=20)

BOARD = "staff_panel/partials/_today_board.html"
# What a call or a start changes; what a finish changes.
CHANGED = "staff_panel/partials/_today_called.html"
FINISHED = "staff_panel/partials/_today_finished.html"
FINISHED_NOTICE = "Приём завершён. Клиенту отправлена ссылка на оценку."
PAGE = "staff_panel/pages/today.html"
# ASCII event names: HX-Trigger must be latin-1 on a real server.
SIDE_CLEARED = {"today-side-clear": True}
# The pushed event of the panel's own call: its echo on the panel's stream needs no reload.
OWN_EVENT = "today-own-event"
# A call's, a start's or a finish's result: the ticket and the pushed event.
Changed = TypeVar("Changed", CallResult, TicketChange)


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _board(
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    action: bool = False,
    **extra: Any,
) -> Response:
    """The board; after an action also its message (out of band: a pushed refresh keeps it)."""
    staff = _me()
    board = today_board(db(), priyom().calendar, staff)
    return render(
        PAGE,
        BOARD,
        status=status,
        board=board,
        error=error,
        notice=notice,
        message_oob=bool(action or error or notice) and is_fragment_request(),
        **extra,
    )


def _act(action: Callable[[], object], notice: str | None = None, **extra: Any) -> Response:
    """Run one service; a refused action answers with its message and the refreshed list."""
    try:
        action()
    except PriyomError as exc:
        db().rollback()
        return _board(error=exc.message, status=exc.status, **extra)
    return _board(notice=notice, action=True, **extra)


def _changed(
    action: Callable[[], Changed],
    read: Callable[[Changed], TodayBoard],
    partial: str,
    *,
    notice: str | None = None,
    **extra: Any,
) -> Response:
    """Call, start or finish a ticket; the answer is what changed, not the whole day read again.

    The current panel replaces itself; its row, the count and the message come out of band
    (`partial`, from the day as `read` gives it). The answer names the action's pushed event,
    so its echo on the panel's stream reads nothing. A refused action answers as every
    action does.
    """
    try:
        result = action()
    except PriyomError as exc:
        db().rollback()
        return _board(error=exc.message, status=exc.status)
    if not is_fragment_request():
        return _board(notice=notice, action=True)
    board = read(result)
    return render(
        partial,
        partial,
        board=board,
        notice=notice,
        retarget="#today-current",
        trigger={OWN_EVENT: {"id": result.event.id}},
        **extra,
    )


def _called_day(result: CallResult) -> TodayBoard:
    """The called row as the day shows it: read by the call itself when it could."""
    calendar, staff = priyom().calendar, _me()
    return today_called(
        db(), calendar, staff, result.ticket, client=result.client, read=result.read
    )


def _started_day(change: TicketChange) -> TodayBoard:
    """The started row as the day shows it, read by the start itself."""
    calendar, staff = priyom().calendar, _me()
    return today_called(
        db(), calendar, staff, change.ticket, client=change.client, read=change.read
    )


def _finished_day(change: TicketChange) -> TodayBoard:
    return today_freed(db(), priyom().calendar, _me(), change.ticket)


def _call(action: Callable[[], CallResult]) -> Response:
    """Call a ticket: a busy specialist calls nobody out of turn, so those buttons go."""
    return _changed(action, _called_day, CHANGED, closes_calls=True)


def _int(name: str) -> int:
    raw = request.form.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("Выберите значение из списка.", field=name)
    return int(raw)


@bp.route("/today")
@staff_required(Role.SPECIALIST)
def today() -> Response:
    return _board()


@bp.route("/today/call-next", methods=["POST"])
@staff_required(Role.SPECIALIST)
def today_call_next() -> Response:
    return _call(lambda: ticket_call_next(session=db(), calendar=priyom().calendar, staff=_me()))


@bp.route("/today/tickets/<int:ticket_id>/<action>", methods=["POST"])
@staff_required(Role.SPECIALIST)
def today_ticket_action(ticket_id: int, action: str) -> Response:
    session, staff, calendar = db(), _me(), priyom().calendar
    if action == "call":
        return _call(
            lambda: ticket_call(
                session=session, calendar=calendar, staff=staff, ticket_id=ticket_id
            )
        )
    if action == "start":
        return _changed(
            lambda: ticket_start_change(
                session=session, staff=staff, ticket_id=ticket_id, calendar=calendar
            ),
            _started_day,
            CHANGED,
        )
    if action == "finish":
        return _changed(
            lambda: ticket_finish_change(
                session=session, calendar=calendar, staff=staff, ticket_id=ticket_id
            ),
            _finished_day,
            FINISHED,
            notice=FINISHED_NOTICE,
        )
    actions: dict[str, Callable[[], object]] = {
        "recall": lambda: ticket_recall(session=session, staff=staff, ticket_id=ticket_id),
        "no-show": lambda: ticket_no_show(session=session, staff=staff, ticket_id=ticket_id),
        "return": lambda: ticket_return(session=session, staff=staff, ticket_id=ticket_id),
    }
    if action not in actions:
        abort(404)
    notices = {"recall": "Повторный вызов показан на табло."}
    return _act(actions[action], notice=notices.get(action))


@bp.route("/today/tickets/<int:ticket_id>/transfer", methods=["GET", "POST"])
@staff_required(Role.SPECIALIST)
def today_transfer(ticket_id: int) -> Response:
    session, staff = db(), _me()
    if request.method == "POST":
        try:
            ticket_transfer(
                session=session,
                staff=staff,
                ticket_id=ticket_id,
                to_staff_id=_int("to_staff"),
                to_service_id=_int("to_service") if request.form.get("to_service") else None,
                reason=request.form.get("reason", ""),
            )
        except PriyomError as exc:
            session.rollback()
            response = _transfer_form(ticket_id, error=exc.message, status=exc.status)
            # The form posts to the board; a refusal is shown in the form instead.
            response.headers["HX-Retarget"] = "#today-side"
            return response
        return _with_trigger(
            _board(notice="Талон передан. Клиенту отправлено сообщение о новом кабинете.")
        )
    return _transfer_form(ticket_id)


def _with_trigger(response: Response) -> Response:
    """Close the side panel: its form is done."""
    response.headers["HX-Trigger"] = json.dumps(SIDE_CLEARED)
    return response


def _board_row(ticket_id: int) -> tuple[TodayBoard, TodayRow]:
    """Read the board and the ticket's row on it; 404 when the ticket is not on her own list."""
    board = today_board(db(), priyom().calendar, _me())
    row = next((r for r in board.rows if r.ticket and r.ticket.id == ticket_id), None)
    if row is None:
        abort(404)  # a side form is for a ticket on her own list only
    return board, row


def _side_form(
    ticket_id: int, partial: str, *, error: str | None = None, status: int = 200, **extra: Any
) -> Response:
    """Render a side form for one ticket of her list, with the form as typed and its error."""
    board, row = _board_row(ticket_id)
    return render(
        PAGE, partial, status=status, board=board, row=row, form=request.form, error=error, **extra
    )


def _transfer_form(ticket_id: int, *, error: str | None = None, status: int = 200) -> Response:
    return _side_form(
        ticket_id,
        "staff_panel/partials/_today_transfer.html",
        error=error,
        status=status,
        choices=transfer_choices(db(), _me()),
    )


@bp.route("/today/bookings/<int:booking_id>/card")
@staff_required(Role.SPECIALIST, Role.ADMINISTRATOR)
def today_card(booking_id: int) -> Response:
    return _card(booking_id)


def _card(booking_id: int, *, error: str | None = None, status: int = 200) -> Response:
    # §4: a specialist sees the cards of her own bookings and tickets only.
    booking_card_require(session=db(), staff=_me(), booking_id=booking_id)
    card = client_card(db(), booking_id)
    if card is None:
        abort(404)
    client_card_viewed(session=db(), staff=_me(), client_id=card.client.id or 0)
    board = today_board(db(), priyom().calendar, _me())
    return render(
        PAGE,
        "staff_panel/partials/_card.html",
        status=status,
        board=board,
        card=card,
        error=error,
    )


@bp.route("/today/bookings/<int:booking_id>/notes", methods=["POST"])
@staff_required(Role.SPECIALIST, Role.ADMINISTRATOR)
def today_note(booking_id: int) -> Response:
    booking_card_require(session=db(), staff=_me(), booking_id=booking_id)
    card = client_card(db(), booking_id)
    if card is None:
        abort(404)
    try:
        client_note_add(
            session=db(),
            staff=_me(),
            client_id=card.client.id or 0,
            text=request.form.get("text", ""),
        )
    except PriyomError as exc:
        db().rollback()
        return _card(booking_id, error=exc.message, status=exc.status)
    return _card(booking_id)


@bp.route("/today/tickets/<int:ticket_id>/rooms", methods=["GET", "POST"])
@staff_required(Role.SPECIALIST)
def today_rooms(ticket_id: int) -> Response:
    if request.method == "POST":
        try:
            room_reserve(
                session=db(),
                calendar=priyom().calendar,
                staff=_me(),
                ticket_id=ticket_id,
                room_id=_int("room"),
                minutes=_int("minutes"),
            )
        except PriyomError as exc:
            db().rollback()
            return _rooms(ticket_id, error=exc.message, status=exc.status)
        return _rooms(ticket_id, notice=ROOM_RESERVED_NOTICE)
    _board_row(ticket_id)  # 404 unless the ticket is on her own list
    return _rooms(ticket_id)


def _rooms(
    ticket_id: int, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    staff = _me()
    board = today_board(db(), priyom().calendar, staff)
    response = render(
        PAGE,
        "staff_panel/partials/_rooms.html",
        status=status,
        board=board,
        ticket_id=ticket_id,
        rooms=meeting_rooms_now(db()),
        minutes_choices=RESERVE_MINUTES,
        comfort=COMFORT_REMINDER,
        error=error,
        notice=notice,
    )
    if notice:
        # The list shows the new room too.
        response.headers["HX-Trigger"] = '{"today-refresh": true}'
    return response


@bp.route("/today/reservations/<int:reservation_id>/release", methods=["POST"])
@staff_required(Role.SPECIALIST, Role.ADMINISTRATOR)
def today_release(reservation_id: int) -> Response:
    return _with_trigger(
        _act(
            lambda: room_release(session=db(), staff=_me(), reservation_id=reservation_id),
            notice="Переговорная освобождена.",
        )
    )


@bp.route("/today/tickets/<int:ticket_id>/invite", methods=["GET", "POST"])
@staff_required(Role.SPECIALIST)
def today_invite(ticket_id: int) -> Response:
    """§35.3: invite a colleague into the conversation, in the room or the meeting room."""
    if request.method == "GET":
        return _invite_form(ticket_id)
    try:
        invite = colleague_invite(
            session=db(),
            staff=_me(),
            ticket_id=ticket_id,
            to_staff_id=_int("to_staff"),
            message=request.form.get("message", ""),
        )
    except PriyomError as exc:
        db().rollback()
        return _invite_form(ticket_id, error=exc.message, status=exc.status)
    colleague = db().get(Staff, invite.to_staff_id)
    return _invite_form(
        ticket_id, notice=f"Приглашение отправлено: {colleague.full_name if colleague else ''}."
    )


def _invite_form(
    ticket_id: int, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    board, row = _board_row(ticket_id)
    assert row.ticket is not None  # the row was found by its ticket
    return render(
        PAGE,
        "staff_panel/partials/_today_invite.html",
        status=status,
        board=board,
        row=row,
        groups=colleagues(db(), _me(), service_id=row.ticket.service_id),
        form=request.form,
        error=error,
        notice=notice,
    )


@bp.route("/today/tickets/<int:ticket_id>/fault", methods=["GET", "POST"])
@staff_required(Role.SPECIALIST)
def today_fault(ticket_id: int) -> Response:
    """§35.5: mark the department's fault with a short reason; the board prompts the apology."""
    if request.method == "GET":
        return _fault_form(ticket_id)
    try:
        ticket_department_fault(
            session=db(), staff=_me(), ticket_id=ticket_id, reason=request.form.get("reason", "")
        )
    except PriyomError as exc:
        db().rollback()
        response = _fault_form(ticket_id, error=exc.message, status=exc.status)
        response.headers["HX-Retarget"] = "#today-side"
        return response
    return _with_trigger(_board(notice="Ошибка департамента отмечена. Извинитесь перед клиентом."))


def _fault_form(ticket_id: int, *, error: str | None = None, status: int = 200) -> Response:
    return _side_form(
        ticket_id, "staff_panel/partials/_today_fault.html", error=error, status=status
    )


@bp.route("/today/invites/<int:invite_id>/seen", methods=["POST"])
@staff_required()
def today_invite_seen(invite_id: int) -> Response:
    return _act(lambda: colleague_invite_seen(session=db(), staff=_me(), invite_id=invite_id))
