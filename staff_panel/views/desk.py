"""The phone operator's booking desk (§28-32): find or register the caller, book, cancel. Routes only.

The desk keeps its whole state in the address (?client=&service=&day=&staff=&slot=),
so a reload, the back button or a colleague's link shows the same screen
(visits.queries.desk). Fragments: #desk (both columns), #desk-client (left),
#desk-step (right: slots, confirmation form, confirmation text),
#desk-search-results, #desk-bookings. A plain GET of a fragment's address gets
the whole page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, url_for

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import Conflict, InvalidInput, NotFound, PriyomError
from visits.models import CHANNEL_LABELS, Channel, Client, Role
from visits.queries.desk import DeskChoice, DeskStep, desk_pick, desk_step
from visits.ru import WEEKDAYS_SHORT, date_short, date_with_weekday, plural
from visits.services.booking import (
    booking_cancel,
    booking_cancel_notice,
    booking_create,
    booking_get,
    booking_receipt,
)
from visits.services.clients import (
    ClientInvalid,
    client_bookings_upcoming,
    client_get,
    client_open,
    client_register,
    client_search,
    phone_display,
)
from visits.services.reminders import REMINDER_CHOICE_LABELS, reminder_choice, reminders_late
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import fragment_or_redirect, render
from visits.web.qr import qr_data_uri

nav_item("staff_panel.desk", "Запись на приём", Role.OPERATOR, order=10)

PAGE = "staff_panel/pages/desk.html"
P_DESK = "staff_panel/partials/_desk.html"
P_SLOTS = "staff_panel/partials/_desk_slots.html"
P_CONFIRM = "staff_panel/partials/_desk_confirm.html"
P_DONE = "staff_panel/partials/_desk_done.html"
P_CLIENT_FORM = "staff_panel/partials/_desk_client_form.html"
P_RESULTS = "staff_panel/partials/_desk_search_results.html"
P_BOOKINGS = "staff_panel/partials/_desk_bookings.html"
P_CANCEL = "staff_panel/partials/_desk_cancel.html"
CHANNEL_CHOICES = [(c.value, CHANNEL_LABELS[c]) for c in Channel]
# Events for HX-Trigger (ASCII: header values must be latin-1).
BOOKINGS_CHANGED = "deskBookingsChanged"  # a booking made: the client's list reloads
SLOTS_CHANGED = "deskSlotsChanged"  # a booking cancelled: the slot picker reloads
Context = dict[str, Any]


@dataclass(frozen=True)
class DeskState:
    """The choice with its addresses, for the templates' links and hidden inputs."""

    choice: DeskChoice

    @property
    def staff_id(self) -> int | None:
        return self.choice.staff_id

    def params(self, **changes: object) -> dict[str, str]:
        return self.choice.params(**changes)

    def url(self, endpoint: str = "staff_panel.desk", **changes: object) -> str:
        query = urlencode(self.params(**changes))
        return url_for(endpoint) + (f"?{query}" if query else "")


def _choice(**changes: Any) -> DeskChoice:
    return replace(DeskChoice.parse(request.values), **changes)


def _common() -> Context:
    calendar = priyom().calendar
    return {
        "phone_display": phone_display,
        "channel_label": lambda c: CHANNEL_LABELS.get(Channel(c), c) if c else "",
        "channel_choices": CHANNEL_CHOICES,
        "date_short": date_short,
        "date_with_weekday": date_with_weekday,
        "weekdays_short": WEEKDAYS_SHORT,
        "plural": plural,
        "local": calendar.to_local,
        "today": calendar.today(),
    }


def _step(step: DeskStep, **extra: Any) -> Context:
    """The right column's context; a picked time brings the §30 reminder choices."""
    confirm = step.confirm
    return {
        **_common(),
        "step": step,
        "state": DeskState(step.choice),
        "client": step.client,
        "step_template": P_CONFIRM if confirm else P_SLOTS,
        "reminder_labels": REMINDER_CHOICE_LABELS,
        "reminder_late": reminders_late(confirm.starts_at) if confirm else {},
        **extra,
    }


def _desk(choice: DeskChoice, **extra: Any) -> Context:
    """Both columns: the opened client (its card is audited) and the booking step."""
    client, client_error = None, None
    if choice.client_id is not None:
        try:
            client = client_open(session=db(), client_id=choice.client_id, staff=current_staff())
        except NotFound as exc:
            client_error = exc.message
    step = desk_step(db(), priyom().calendar, choice)
    if client is None:
        step.choice, step.client = replace(step.choice, client_id=None), None
    return _step(step, client_error=client_error, **_upcoming(client), **extra)


def _upcoming(client: Client | None) -> Context:
    rows = client_bookings_upcoming(session=db(), client_id=client.id or 0) if client else []
    return {"client": client, "upcoming": rows}


def _page() -> Context:
    """The whole desk for the address, for a plain GET of a fragment's address."""
    return _desk(_choice())


# ---------------------------------------------------------------- routes


@bp.route("/desk")
@staff_required(Role.OPERATOR)
def desk() -> Response:
    """The whole desk: the client on the left, the booking steps on the right."""
    ctx = _desk(_choice())
    return render(PAGE, P_DESK, push_url=ctx["state"].url(), **ctx)


@bp.route("/desk/step", endpoint="desk_step")
@staff_required(Role.OPERATOR)
def desk_step_route() -> Response:
    """The right column alone: service, day, specialist filter, picked slot."""
    return _render_step(desk_step(db(), priyom().calendar, _choice()))


def _render_step(step: DeskStep, *, confirm_error: str | None = None) -> Response:
    """The right column; a refused booking's form comes back with why, at the same address."""
    ctx = _step(step, confirm_error=confirm_error)
    status, address = (422, None) if confirm_error else (step.status, ctx["state"].url())
    template = ctx["step_template"]
    return render(PAGE, template, status=status, page_context=_page, push_url=address, **ctx)


@bp.route("/desk/search")
@staff_required(Role.OPERATOR)
def desk_search() -> Response:
    """Live search by phone or surname (htmx, debounced by the input)."""
    query = request.args.get("q", "")
    results = client_search(session=db(), query=query)
    state = DeskState(_choice())
    ctx = {"results": results, "query": query.strip(), "state": state, **_common()}
    return render(PAGE, P_RESULTS, page_context=_page, **ctx)


@bp.route("/desk/clients/new")
@staff_required(Role.OPERATOR)
def desk_client_new() -> Response:
    """The registration form; a phone typed into the search is carried over."""
    query = request.args.get("q", "").strip()
    form = {"phone": query} if query and not any(ch.isalpha() for ch in query) else {}
    if query and not form:
        form = {"surname": query[:1].upper() + query[1:]}
    return _client_form(form, {}, status=200)


def _client_form(form: Mapping[str, str], errors: Mapping[str, str], *, status: int) -> Response:
    ctx = {"form": form, "errors": errors, "state": DeskState(_choice()), **_common()}
    page = partial(_desk, _choice(), client_template=P_CLIENT_FORM)
    return render(PAGE, P_CLIENT_FORM, status=status, page_context=page, **ctx)


@bp.route("/desk/clients", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_client_create() -> Response:
    """Register the caller (§3: channels, consent with its time); nothing saved on bad input."""
    form = request.form
    try:
        client = client_register(
            session=db(),
            surname=form.get("surname", ""),
            first_name=form.get("first_name", ""),
            patronymic=form.get("patronymic", ""),
            phone=form.get("phone", ""),
            email=form.get("email", ""),
            channel=form.get("channel") or None,
            second_channel=form.get("second_channel") or None,
            consent=form.get("consent") == "yes",
            allow_early_messages=form.get("allow_early_messages") == "yes",
            staff=current_staff(),
        )
    except (InvalidInput, Conflict) as exc:
        errors = (
            exc.errors if isinstance(exc, ClientInvalid) else {exc.field or "form": exc.message}
        )
        return _client_form(form, errors, status=exc.status)
    address = DeskState(_choice(client_id=client.id)).url()
    ctx = partial(_desk, _choice(client_id=client.id), client_notice="Клиент зарегистрирован.")
    return fragment_or_redirect(P_DESK, address, ctx, push_url=address, retarget="#desk")


@bp.route("/desk/clients/<int:client_id>/bookings")
@staff_required(Role.OPERATOR)
def desk_bookings(client_id: int) -> Response:
    """The client's upcoming bookings (refreshed after a booking or a cancellation)."""
    client = client_get(session=db(), client_id=client_id)
    choice = _choice(client_id=client_id)
    ctx = {"state": DeskState(choice), **_common(), **_upcoming(client)}
    return render(PAGE, P_BOOKINGS, page_context=partial(_desk, choice), **ctx)


@bp.route("/desk/bookings", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_book() -> Response:
    """Confirm the picked slot (§29, §30); a double post gives the same one booking."""
    choice = _choice()
    try:
        service, specialist, starts_at = desk_pick(db(), choice)
    except InvalidInput as exc:
        return _back_to_slots(choice, exc)
    if choice.client_id is None or _client_missing(choice.client_id):
        return _confirm_again(choice, CHOOSE_CLIENT)
    try:
        day_before, two_hours = reminder_choice(
            request.form.get("reminders", ""), starts_at=starts_at
        )
        made = booking_create(
            session=db(),
            calendar=priyom().calendar,
            client_id=choice.client_id,
            service_id=service.id or 0,
            staff_id=specialist.staff.id or 0,
            starts_at=starts_at,
            remind_day_before=day_before,
            remind_two_hours_before=two_hours,
            staff=current_staff(),
            submit_key=request.form.get("submit_key") or None,
        )
    except (InvalidInput, Conflict) as exc:
        if exc.field == "reminders":
            return _confirm_again(choice, exc.message)
        return _back_to_slots(choice, exc)
    except NotFound as exc:
        return _confirm_again(choice, exc.message)
    address = url_for("staff_panel.desk_booking", booking_id=made.booking.id)
    ctx = partial(_done, made.booking.id or 0, created=made.created)
    return fragment_or_redirect(
        P_DONE, address, ctx, trigger={BOOKINGS_CHANGED: True}, push_url=address
    )


CHOOSE_CLIENT = "Выберите клиента: найдите его слева или зарегистрируйте."


def _client_missing(client_id: int) -> bool:
    try:
        client_get(session=db(), client_id=client_id)
    except NotFound:
        return True
    return False


def _back_to_slots(choice: DeskChoice, exc: PriyomError) -> Response:
    """The slot picker again, with why the booking was refused (a bad service is dropped)."""
    choice = replace(choice, slot="")
    if exc.field == "service":
        choice = replace(choice, service_id=None)
    return _render_step(
        desk_step(db(), priyom().calendar, choice, error=exc.message, status=exc.status)
    )


def _confirm_again(choice: DeskChoice, message: str) -> Response:
    return _render_step(desk_step(db(), priyom().calendar, choice), confirm_error=message)


def _done(booking_id: int, *, created: bool) -> Context:
    receipt = booking_receipt(session=db(), calendar=priyom().calendar, booking_id=booking_id)
    booking = receipt.booking
    return {
        **_common(),
        "receipt": receipt,
        "booking": booking,
        "created": created,
        "qr": qr_data_uri(booking.qr_payload),
        "client": receipt.client,
        "state": DeskState(DeskChoice(client_id=booking.client_id, service_id=booking.service_id)),
        "step_template": P_DONE,
    }


@bp.route("/desk/bookings/<int:booking_id>")
@staff_required(Role.OPERATOR)
def desk_booking(booking_id: int) -> Response:
    """A booking's confirmation, to read it to the caller again or print it."""
    ctx = _done(booking_id, created=False)
    return render(PAGE, P_DONE, page_context=partial(_desk, ctx["state"].choice), **ctx)


@bp.route("/desk/bookings/<int:booking_id>/cancel", methods=["GET"])
@staff_required(Role.OPERATOR)
def desk_cancel_ask(booking_id: int) -> Response:
    """§32: ask before cancelling; a booking no longer cancellable shows the list with why."""
    booking = booking_get(session=db(), booking_id=booking_id)
    choice = _choice(client_id=booking.client_id)
    upcoming = _upcoming(client_get(session=db(), client_id=booking.client_id))
    item = next((u for u in upcoming["upcoming"] if u.booking.id == booking_id), None)
    if item is None:
        return _bookings(choice, upcoming, error="Эту запись уже нельзя отменить.")
    ctx = {"item": item, "state": DeskState(choice), **_common()}
    return render(PAGE, P_CANCEL, page_context=partial(_desk, choice), **ctx)


@bp.route("/desk/bookings/<int:booking_id>/cancel", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_cancel(booking_id: int) -> Response:
    """§32: cancel; the slot is free at once and the client gets a message."""
    booking = booking_get(session=db(), booking_id=booking_id)
    choice = _choice(client_id=booking.client_id)
    client = client_get(session=db(), client_id=booking.client_id)
    calendar, reason = priyom().calendar, request.form.get("reason", "")
    try:
        booking_cancel(
            session=db(),
            calendar=calendar,
            booking_id=booking_id,
            staff=current_staff(),
            reason=reason,
        )
    except PriyomError as exc:
        return _bookings(choice, _upcoming(client), error=exc.message, status=exc.status)
    notice = booking_cancel_notice(session=db(), calendar=calendar, booking=booking)
    ctx = partial(_bookings_context, choice, client, notice=notice)
    return fragment_or_redirect(
        P_BOOKINGS, DeskState(choice).url(), ctx, trigger={SLOTS_CHANGED: True}
    )


def _bookings_context(choice: DeskChoice, client: Client, **extra: Any) -> Context:
    return {
        "state": DeskState(choice),
        **_common(),
        **_upcoming(client),
        **{f"bookings_{k}": v for k, v in extra.items()},
    }


def _bookings(choice: DeskChoice, upcoming: Context, *, error: str, status: int = 200) -> Response:
    ctx = {"state": DeskState(choice), "bookings_error": error, **_common(), **upcoming}
    return render(PAGE, P_BOOKINGS, status=status, page_context=partial(_desk, choice), **ctx)
