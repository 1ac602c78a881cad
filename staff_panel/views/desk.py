"""The phone operator's booking desk (§28-32): book and cancel. Routes only.

Finding and registering the caller (the client column) lives in staff_panel.views.desk_client,
which shares this module's state helpers (request_choice, desk_context, desk_page).

The desk keeps its whole state in the address (?client=&service=&day=&staff=&slot=),
so a reload, the back button or a colleague's link shows the same screen; the
right column is one query (visits.queries.desk). Fragments: #desk (both columns),
#desk-client (left), #desk-step (right: slots, confirmation form, confirmation
text), #desk-search-results, #desk-bookings. A plain GET of a fragment's address
gets the whole page; a change posted without htmx is answered with a redirect.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from flask import Response, request, url_for

from staff_panel import bp
from staff_panel.nav import nav_item
from staff_panel.templating import desk_url
from visits.errors import Conflict, InvalidInput, NotFound, PriyomError
from visits.models import Client, Role
from visits.queries.desk import (
    DeskChoice,
    DeskStep,
    desk_booking_cancellable,
    desk_bookings_upcoming,
    desk_pick,
    desk_screen,
    desk_step,
)
from visits.services import booking, clients
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import fragment_or_redirect, render

nav_item("staff_panel.desk", "Запись на приём", Role.OPERATOR, order=10)

PAGE = "staff_panel/pages/desk.html"
P_DESK = "staff_panel/partials/_desk.html"
P_SLOTS = "staff_panel/partials/_desk_slots.html"
P_CONFIRM = "staff_panel/partials/_desk_confirm.html"
P_DONE = "staff_panel/partials/_desk_done.html"
P_BOOKINGS = "staff_panel/partials/_desk_bookings.html"
P_CANCEL = "staff_panel/partials/_desk_cancel.html"
# Events for HX-Trigger (ASCII: header values must be latin-1).
BOOKINGS_CHANGED = "deskBookingsChanged"  # a booking made: the client's list reloads
SLOTS_CHANGED = "deskSlotsChanged"  # a booking cancelled: the slot picker reloads
Context = dict[str, Any]


def request_choice(**changes: Any) -> DeskChoice:
    """The desk's state from the address (query or form), with `changes` applied."""
    return replace(DeskChoice.parse(request.values), **changes)


def _step(step: DeskStep, **extra: Any) -> Context:
    """The right column: the slot picker, or the confirmation with its §30 reminder choices."""
    template = P_CONFIRM if step.confirm else P_SLOTS
    extra = {"client": step.client, **extra}
    return {"state": step.choice, "step": step, "step_template": template, **extra}


def desk_context(choice: DeskChoice, **extra: Any) -> Context:
    """Both columns: the opened client (the card's opening is audited) and the booking step."""
    client, error = None, None
    if choice.client_id is not None:
        try:
            staff = current_staff()
            client = clients.client_open(session=db(), client_id=choice.client_id, staff=staff)
        except NotFound as exc:
            error = exc.message
    screen = desk_screen(db(), priyom().calendar, choice, client=client)
    columns = {"client": screen.client, "upcoming": screen.upcoming, "client_error": error}
    return _step(screen.step, **columns, **extra)


def _upcoming(choice: DeskChoice, client: Client, **notes: str) -> Context:
    """The client's upcoming bookings; `notes` are the list's error or notice."""
    rows = desk_bookings_upcoming(db(), client.id or 0)
    notes = {f"bookings_{k}": v for k, v in notes.items()}
    return {"state": choice, "client": client, "upcoming": rows, **notes}


def desk_page() -> Context:
    return desk_context(request_choice())


@bp.route("/desk")
@staff_required(Role.OPERATOR)
def desk() -> Response:
    """The whole desk: the client on the left, the booking steps on the right."""
    ctx = desk_context(request_choice())
    return render(PAGE, P_DESK, push_url=desk_url(ctx["state"]), **ctx)


@bp.route("/desk/step", endpoint="desk_step")
@staff_required(Role.OPERATOR)
def desk_step_route() -> Response:
    """The right column alone: service, day, specialist filter, picked slot."""
    return _render_step(desk_step(db(), priyom().calendar, request_choice()))


def _render_step(step: DeskStep, *, confirm_error: str | None = None) -> Response:
    """The right column; a refused booking's form comes back with why, at the same address."""
    ctx = _step(step, confirm_error=confirm_error)
    status, address = (422, None) if confirm_error else (step.status, desk_url(step.choice))
    return render(
        PAGE, ctx["step_template"], status=status, page_context=desk_page, push_url=address, **ctx
    )


@bp.route("/desk/clients/<int:client_id>/bookings")
@staff_required(Role.OPERATOR)
def desk_bookings(client_id: int) -> Response:
    """The client's upcoming bookings (refreshed after a booking or a cancellation)."""
    client = clients.client_get(session=db(), client_id=client_id)
    return _bookings(request_choice(client_id=client_id), client)


def _bookings(choice: DeskChoice, client: Client, *, status: int = 200, **notes: str) -> Response:
    ctx = _upcoming(choice, client, **notes)
    return render(
        PAGE, P_BOOKINGS, status=status, page_context=partial(desk_context, choice), **ctx
    )


@bp.route("/desk/bookings", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_book() -> Response:
    """Confirm the picked slot (§29, §30); a double post gives the same one booking."""
    choice, form = request_choice(), request.form
    try:
        pick = desk_pick(db(), choice, reminders=form.get("reminders", ""))
        made = booking.booking_create(
            session=db(),
            calendar=priyom().calendar,
            client_id=pick.client_id,
            service_id=pick.service.id or 0,
            staff_id=pick.specialist.staff.id or 0,
            starts_at=pick.starts_at,
            remind_day_before=pick.remind_day_before,
            remind_two_hours_before=pick.remind_two_hours_before,
            staff=current_staff(),
            submit_key=form.get("submit_key") or None,
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        if isinstance(exc, NotFound) or exc.field in ("client", "reminders"):
            return _confirm_again(choice, exc.message)
        return _back_to_slots(choice, exc)
    address = url_for("staff_panel.desk_booking", booking_id=made.booking.id)
    ctx = partial(_done, made.booking.id or 0, created=made.created)
    trigger = {BOOKINGS_CHANGED: True}
    return fragment_or_redirect(P_DONE, address, ctx, trigger=trigger, push_url=address)


def _back_to_slots(choice: DeskChoice, exc: PriyomError) -> Response:
    """The slot picker again, with why the booking was refused (a bad service is dropped)."""
    service_id = None if exc.field == "service" else choice.service_id
    choice = replace(choice, slot="", service_id=service_id)
    calendar = priyom().calendar
    return _render_step(desk_step(db(), calendar, choice, error=exc.message, status=exc.status))


def _confirm_again(choice: DeskChoice, message: str) -> Response:
    return _render_step(desk_step(db(), priyom().calendar, choice), confirm_error=message)


def _done(booking_id: int, *, created: bool) -> Context:
    """The made booking: the text to read out (§31), its messages, its code and QR."""
    receipt = booking.booking_receipt(
        session=db(), calendar=priyom().calendar, booking_id=booking_id
    )
    made = receipt.booking
    choice = DeskChoice(client_id=made.client_id, service_id=made.service_id)
    extra = {"receipt": receipt, "booking": made, "created": created, "client": receipt.client}
    return {"state": choice, "step_template": P_DONE, **extra}


@bp.route("/desk/bookings/<int:booking_id>")
@staff_required(Role.OPERATOR)
def desk_booking(booking_id: int) -> Response:
    """A booking's confirmation, to read it to the caller again or print it."""
    ctx = _done(booking_id, created=False)
    return render(PAGE, P_DONE, page_context=partial(desk_context, ctx["state"]), **ctx)


@bp.route("/desk/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@staff_required(Role.OPERATOR)
def desk_cancel(booking_id: int) -> Response:
    """§32: ask, then cancel; the slot is free at once and the client gets a message."""
    session, calendar = db(), priyom().calendar
    made = booking.booking_get(session=session, booking_id=booking_id)
    client = clients.client_get(session=session, client_id=made.client_id)
    choice = request_choice(client_id=client.id)
    if request.method == "GET":
        return _cancel_ask(choice, client, booking_id)
    try:
        booking.booking_cancel(
            session=session,
            calendar=calendar,
            booking_id=booking_id,
            staff=current_staff(),
            reason=request.form.get("reason", ""),
        )
    except PriyomError as exc:
        return _bookings(choice, client, status=exc.status, error=exc.message)
    notice = booking.booking_cancel_notice(session=session, calendar=calendar, booking=made)
    ctx = partial(_upcoming, choice, client, notice=notice)
    trigger = {SLOTS_CHANGED: True}
    return fragment_or_redirect(P_BOOKINGS, desk_url(choice), ctx, trigger=trigger)


def _cancel_ask(choice: DeskChoice, client: Client, booking_id: int) -> Response:
    """The question in place of the booking's row; a booking no longer cancellable: why not."""
    item = desk_booking_cancellable(db(), client.id or 0, booking_id)
    if item is None:
        return _bookings(choice, client, error="Эту запись уже нельзя отменить.")
    return render(
        PAGE, P_CANCEL, page_context=partial(desk_context, choice), state=choice, item=item
    )
