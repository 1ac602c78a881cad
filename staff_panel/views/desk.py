"""The phone operator's booking desk (§28-32): find or register the caller, book, cancel.

The desk keeps its whole state in the address (?client=&service=&day=&staff=&slot=),
so a reload, the back button or a colleague's link shows the same screen.
Fragments: #desk (both columns), #desk-client (left), #desk-step (right:
slots, confirmation form, confirmation text), #desk-search-results, #desk-bookings.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from flask import request, url_for
from sqlmodel import Session

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.calendar import WorkCalendar, utcnow
from visits.errors import Conflict, InvalidInput, NotFound, PriyomError
from visits.models import CHANNEL_LABELS, Booking, Channel, Client, MessageKind, Role, Service
from visits.queries.slots import (
    Slot,
    Specialist,
    bookable_services,
    free_slots,
    service_for_booking,
    service_specialists,
    slot_grid,
    slot_is_bookable,
    slot_key_parse,
)
from visits.ru import WEEKDAYS_SHORT, date_short, date_with_weekday, plural
from visits.services.booking import (
    SLOT_TAKEN,
    booking_cancel,
    booking_confirmation_text,
    booking_create,
    booking_outbox,
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
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import hx_redirect, is_fragment_request, render

log = logging.getLogger(__name__)

nav_item("staff_panel.desk", "Запись на приём", Role.OPERATOR, order=10)

PAGE = "staff_panel/pages/desk.html"
P_DESK = "staff_panel/partials/_desk.html"
P_SLOTS = "staff_panel/partials/_desk_slots.html"
P_CONFIRM = "staff_panel/partials/_desk_confirm.html"
P_DONE = "staff_panel/partials/_desk_done.html"
P_CLIENT = "staff_panel/partials/_desk_client.html"
P_CLIENT_FORM = "staff_panel/partials/_desk_client_form.html"
P_RESULTS = "staff_panel/partials/_desk_search_results.html"
P_BOOKINGS = "staff_panel/partials/_desk_bookings.html"
P_CANCEL = "staff_panel/partials/_desk_cancel.html"

REMINDERS = {
    "both": (True, True),
    "day": (True, False),
    "two_hours": (False, True),
    "none": (False, False),
}
REMINDER_LABELS = {
    "both": "За день и за 2 часа",
    "day": "За день",
    "two_hours": "За 2 часа",
    "none": "Без напоминаний",
}
CHANNEL_CHOICES = [(c.value, CHANNEL_LABELS[c]) for c in Channel]
# Events for HX-Trigger (ASCII: header values must be latin-1).
BOOKINGS_CHANGED = "deskBookingsChanged"  # a booking made: the client's list reloads
SLOTS_CHANGED = "deskSlotsChanged"  # a booking cancelled: the slot picker reloads


# ---------------------------------------------------------------- parsing


def _id(raw: str | None) -> int | None:
    """A database id from the address or a form; None for anything else."""
    value = (raw or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value) or None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@dataclass
class DeskState:
    """What the operator has chosen so far; it travels in the address."""

    client_id: int | None = None
    service_id: int | None = None
    day: date | None = None
    staff_id: int | None = None
    slot: str = ""

    @classmethod
    def from_request(cls) -> DeskState:
        values = request.values
        return cls(
            client_id=_id(values.get("client")),
            service_id=_id(values.get("service")),
            day=_day(values.get("day")),
            staff_id=_id(values.get("staff")),
            slot=(values.get("slot") or "").strip()[:40],
        )

    def params(self, **changes: Any) -> dict[str, str]:
        values = {
            "client": self.client_id,
            "service": self.service_id,
            "day": self.day.isoformat() if self.day else None,
            "staff": self.staff_id,
            "slot": self.slot or None,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def url(self, endpoint: str = "staff_panel.desk", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return url_for(endpoint) + (f"?{query}" if query else "")


# ---------------------------------------------------------------- building the screen


@dataclass
class DayCell:
    day: date
    count: int
    working: bool
    in_range: bool


@dataclass
class SlotView:
    key: str
    time: str
    end: str
    specialist: Specialist
    # Other specialists free at the same time (shown when no specialist is chosen).
    others: int = 0


@dataclass
class SlotsView:
    """Everything the slot picker shows for one service (§29)."""

    service: Service
    specialists: list[Specialist]
    counts_by_staff: dict[int, int]
    weeks: list[list[DayCell]]
    day: date | None
    periods: list[tuple[str, list[SlotView]]] = field(default_factory=list)
    total: int = 0


def _calendar() -> WorkCalendar:
    return priyom().calendar


def _slots_view(session: Session, state: DeskState, service: Service) -> SlotsView:
    calendar = _calendar()
    specialists = service_specialists(session, service.id or 0)
    by_id = {s.staff.id: s for s in specialists}
    if state.staff_id not in by_id:
        state.staff_id = None
    grid = slot_grid(session, calendar, service=service, members=[s.staff for s in specialists])
    per_day = grid.counts_by_day(staff_id=state.staff_id)
    if state.day not in per_day:
        state.day = min(per_day, default=None)
    view = SlotsView(
        service=service,
        specialists=specialists,
        counts_by_staff=grid.counts_by_staff(),
        weeks=_weeks(calendar, per_day),
        day=state.day,
        total=sum(per_day.values()),
    )
    if state.day is not None:
        # Without a chosen specialist each time is shown once: sixty specialists
        # would otherwise make thousands of buttons nobody can read.
        if state.staff_id is None:
            picked = grid.times_on(state.day)
        else:
            picked = [(slot, 0) for slot in grid.slots_on(state.day, staff_id=state.staff_id)]
        view.periods = _periods(calendar, state.day, picked, by_id)
    return view


def _weeks(calendar: WorkCalendar, days: dict[date, int]) -> list[list[DayCell]]:
    """Monday-to-Sunday rows from today to the horizon, with each day's free count."""
    today = calendar.today()
    horizon = list(
        calendar.working_days(today, calendar.config.office.booking_horizon_working_days)
    )
    last = horizon[-1] if horizon else today
    start = today - timedelta(days=today.weekday())
    weeks: list[list[DayCell]] = []
    cursor = start
    while cursor <= last:
        week = []
        for _ in range(7):
            week.append(
                DayCell(
                    day=cursor,
                    count=days.get(cursor, 0),
                    working=calendar.is_working_day(cursor),
                    in_range=today <= cursor <= last,
                )
            )
            cursor += timedelta(days=1)
        weeks.append(week)
    return weeks


def _periods(
    calendar: WorkCalendar,
    day: date,
    picked: list[tuple[Slot, int]],
    by_id: dict[int | None, Specialist],
) -> list[tuple[str, list[SlotView]]]:
    """The day's free times split at the lunch break: "До обеда", "После обеда".

    Each time comes with the number of other specialists free then ("и ещё N").
    """
    periods = calendar.periods_on(day)
    groups: list[tuple[str, list[SlotView]]] = []
    labels = ["До обеда", "После обеда"] if len(periods) == 2 else ["Весь день"] * len(periods)
    for label, period in zip(labels, periods, strict=True):
        items = []
        for slot, others in picked:
            local_start = calendar.to_local(slot.starts_at)
            if period.start <= local_start < period.end:
                items.append(
                    SlotView(
                        key=slot.key,
                        time=local_start.strftime("%H:%M"),
                        end=calendar.to_local(slot.ends_at).strftime("%H:%M"),
                        specialist=by_id[slot.staff_id],
                        others=others,
                    )
                )
        if items:
            groups.append((label, items))
    return groups


def _client_or_none(session: Session, client_id: int | None) -> Client | None:
    if client_id is None:
        return None
    try:
        return client_get(session=session, client_id=client_id)
    except NotFound:
        return None


def _step_context(
    session: Session, state: DeskState, *, error: str | None = None
) -> dict[str, Any]:
    """The right column: the slot picker, or the confirmation form when a slot is picked."""
    ctx: dict[str, Any] = {
        "state": state,
        "services": bookable_services(session),
        "step_error": error,
        "step_template": P_SLOTS,
        "slots": None,
        "service": None,
        "client": _client_or_none(session, state.client_id),
    }
    if state.service_id is None:
        state.slot = ""
        return ctx
    try:
        service = service_for_booking(session, state.service_id)
    except InvalidInput as exc:
        ctx["step_error"] = error or exc.message
        state.service_id, state.slot = None, ""
        return ctx
    ctx["service"] = service
    if state.slot:
        try:
            ctx.update(_confirm_context(session, state, service))
            ctx["step_template"] = P_CONFIRM
            return ctx
        except (InvalidInput, Conflict) as exc:
            ctx["step_error"] = error or exc.message
            ctx["step_status"] = exc.status
            state.slot = ""
    ctx["slots"] = _slots_view(session, state, service)
    return ctx


def _slot_from_key(session: Session, service: Service, key: str) -> tuple[Specialist, datetime]:
    parsed = slot_key_parse(key)
    specialist = None
    if parsed is not None:
        specialist = next(
            (s for s in service_specialists(session, service.id or 0) if s.staff.id == parsed[0]),
            None,
        )
    if parsed is None or specialist is None:
        log.warning("desk: unknown slot id %r for service %s", key, service.id)
        raise InvalidInput(
            "Такого времени нет в расписании. Выберите время из списка.", field="slot"
        )
    return specialist, parsed[1]


def _confirm_context(session: Session, state: DeskState, service: Service) -> dict[str, Any]:
    specialist, starts_at = _slot_from_key(session, service, state.slot)
    calendar = _calendar()
    local = calendar.to_local(starts_at)
    # A page left open for a while: say now, not after "Записать", that the time is gone.
    reason = slot_is_bookable(
        calendar, starts_at=starts_at, duration_minutes=service.duration_minutes
    )
    if reason:
        raise InvalidInput(reason, field="slot")
    still_free = free_slots(
        session,
        calendar,
        service=service,
        staff_id=specialist.staff.id,
        first_day=local.date(),
        days=1,
    )
    if not any(s.starts_at == starts_at for s in still_free):
        raise Conflict(SLOT_TAKEN, code="slot_taken", field="slot")
    return {
        "picked": specialist,
        "picked_start": local,
        "picked_end": _calendar().to_local(starts_at + timedelta(minutes=service.duration_minutes)),
        "picked_date": date_with_weekday(local),
        "submit_key": secrets.token_urlsafe(18),
        "reminder_labels": REMINDER_LABELS,
        "reminder_late": {k: _reminder_too_late(k, starts_at) for k in REMINDERS},
    }


def _reminder_too_late(choice: str, starts_at: datetime) -> str:
    """§30: why a reminder choice can no longer reach the client in time ("" if it can)."""
    day_before, two_hours = REMINDERS[choice]
    left = starts_at - utcnow()
    if day_before and left < timedelta(days=1):
        return "До приёма меньше суток: напоминание за день не успеет прийти."
    if two_hours and left < timedelta(hours=2):
        return "До приёма меньше двух часов: напоминание за 2 часа не успеет прийти."
    return ""


def _client_context(session: Session, client: Client | None) -> dict[str, Any]:
    return {
        "client": client,
        "upcoming": (
            client_bookings_upcoming(session=session, client_id=client.id or 0) if client else []
        ),
    }


def _desk_context(session: Session, state: DeskState, **extra: Any) -> dict[str, Any]:
    ctx = _step_context(session, state, error=extra.pop("step_error", None))
    client = None
    if state.client_id is not None:
        try:
            client = client_open(session=session, client_id=state.client_id, staff=current_staff())
        except NotFound as exc:
            extra.setdefault("client_error", exc.message)
            state.client_id = None
    ctx.update(_client_context(session, client))
    ctx.update(extra)
    return ctx


def _pushed(response: Any, state: DeskState) -> Any:
    """Keep the address in step with the screen (htmx only; a page load has it already)."""
    if is_fragment_request():
        response.headers["HX-Push-Url"] = state.url()
    return response


def _common() -> dict[str, Any]:
    return {
        "phone_display": phone_display,
        "channel_label": lambda c: CHANNEL_LABELS.get(Channel(c), c) if c else "",
        "channel_choices": CHANNEL_CHOICES,
        "date_short": date_short,
        "date_with_weekday": date_with_weekday,
        "weekdays_short": WEEKDAYS_SHORT,
        "plural": plural,
        "local": _calendar().to_local,
        "today": _calendar().today(),
    }


# ---------------------------------------------------------------- routes


@bp.route("/desk")
@staff_required(Role.OPERATOR)
def desk() -> Any:
    """The whole desk: the client on the left, the booking steps on the right."""
    state = DeskState.from_request()
    ctx = _desk_context(db(), state)
    return _pushed(render(PAGE, P_DESK, **_common(), **ctx), state)


@bp.route("/desk/step")
@staff_required(Role.OPERATOR)
def desk_step() -> Any:
    """The right column alone: service, day, specialist filter, picked slot."""
    state = DeskState.from_request()
    ctx = _step_context(db(), state)
    status = ctx.get("step_status", 422) if ctx["step_error"] else 200
    if not is_fragment_request():
        return desk()
    return _pushed(render(PAGE, ctx["step_template"], status=status, **_common(), **ctx), state)


@bp.route("/desk/search")
@staff_required(Role.OPERATOR)
def desk_search() -> Any:
    """Live search by phone or surname (htmx, debounced by the input)."""
    query = request.args.get("q", "")
    state = DeskState.from_request()
    results = client_search(session=db(), query=query)
    if not is_fragment_request():
        return desk()
    return render(PAGE, P_RESULTS, results=results, query=query.strip(), state=state, **_common())


@bp.route("/desk/clients/new")
@staff_required(Role.OPERATOR)
def desk_client_new() -> Any:
    """The registration form; a phone typed into the search is carried over."""
    state = DeskState.from_request()
    query = request.args.get("q", "").strip()
    form = {"phone": query} if query and not any(ch.isalpha() for ch in query) else {}
    if query and not form:
        form = {"surname": query[:1].upper() + query[1:]}
    ctx: dict[str, Any] = {"form": form, "errors": {}, "state": state}
    if is_fragment_request():
        return render(PAGE, P_CLIENT_FORM, **_common(), **ctx)
    page = _desk_context(db(), state)
    page.update(ctx, client_template=P_CLIENT_FORM)
    return render(PAGE, **_common(), **page)


@bp.route("/desk/clients", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_client_create() -> Any:
    """Register the caller (§3: channels, consent with its time); nothing saved on bad input."""
    state = DeskState.from_request()
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
        ctx: dict[str, Any] = {"form": form, "errors": errors, "state": state}
        if is_fragment_request():
            return render(PAGE, P_CLIENT_FORM, status=exc.status, **_common(), **ctx)
        page = _desk_context(db(), state)
        page.update(ctx, client_template=P_CLIENT_FORM)
        return render(PAGE, status=exc.status, **_common(), **page)
    state.client_id = client.id
    if not is_fragment_request():
        return hx_redirect(state.url())
    ctx = _desk_context(db(), state, client_notice="Клиент зарегистрирован.")
    response = _pushed(render(PAGE, P_DESK, **_common(), **ctx), state)
    response.headers["HX-Retarget"] = "#desk"
    return response


@bp.route("/desk/clients/<int:client_id>/bookings")
@staff_required(Role.OPERATOR)
def desk_bookings(client_id: int) -> Any:
    """The client's upcoming bookings (refreshed after a booking or a cancellation)."""
    client = client_get(session=db(), client_id=client_id)
    state = DeskState.from_request()
    state.client_id = client_id
    if not is_fragment_request():
        return hx_redirect(state.url())
    return render(PAGE, P_BOOKINGS, state=state, **_common(), **_client_context(db(), client))


@bp.route("/desk/bookings", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_book() -> Any:
    """Confirm the picked slot (§29, §30); a double post gives the same one booking."""
    session = db()
    state = DeskState.from_request()
    reminders = request.form.get("reminders", "")

    def back_to_slots(message: str, status: int) -> Any:
        state.slot = ""
        ctx = _step_context(session, state, error=message)
        if not is_fragment_request():
            page = _desk_context(session, state, step_error=message)
            return render(PAGE, status=status, **_common(), **page)
        return _pushed(render(PAGE, P_SLOTS, status=status, **_common(), **ctx), state)

    try:
        service = service_for_booking(session, state.service_id)
    except InvalidInput as exc:
        state.service_id = None
        return back_to_slots(exc.message, exc.status)
    try:
        specialist, starts_at = _slot_from_key(session, service, state.slot)
    except InvalidInput as exc:
        return back_to_slots(exc.message, exc.status)
    if state.client_id is None or _client_or_none(session, state.client_id) is None:
        return _confirm_again(
            session, state, "Выберите клиента: найдите его слева или зарегистрируйте."
        )
    if reminders not in REMINDERS:
        return _confirm_again(session, state, "Спросите клиента о напоминаниях и отметьте вариант.")
    if late := _reminder_too_late(reminders, starts_at):
        return _confirm_again(session, state, late)
    day_before, two_hours = REMINDERS[reminders]
    try:
        confirmation = booking_create(
            session=session,
            calendar=_calendar(),
            client_id=state.client_id,
            service_id=service.id or 0,
            staff_id=specialist.staff.id or 0,
            starts_at=starts_at,
            remind_day_before=day_before,
            remind_two_hours_before=two_hours,
            staff=current_staff(),
            submit_key=request.form.get("submit_key") or None,
        )
    except (InvalidInput, Conflict) as exc:
        return back_to_slots(exc.message, exc.status)
    except NotFound as exc:
        return _confirm_again(session, state, exc.message)
    booking = confirmation.booking
    if not is_fragment_request():
        return hx_redirect(url_for("staff_panel.desk_booking", booking_id=booking.id))
    ctx = _done_context(session, booking, created=confirmation.created)
    response = render(PAGE, P_DONE, trigger={BOOKINGS_CHANGED: True}, **_common(), **ctx)
    response.headers["HX-Push-Url"] = url_for("staff_panel.desk_booking", booking_id=booking.id)
    return response


def _confirm_again(session: Session, state: DeskState, message: str) -> Any:
    ctx = _step_context(session, state)
    ctx["confirm_error"] = message
    if not is_fragment_request():
        page = _desk_context(session, state)
        page["confirm_error"] = message
        return render(PAGE, status=422, **_common(), **page)
    return render(PAGE, ctx["step_template"], status=422, **_common(), **ctx)


def _qr_data_uri(payload: str) -> str:
    """The booking's QR code as an SVG data URI: sharp on screen, on paper and in e-mail."""
    image = qrcode.make(
        payload,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg: bytes = image.to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _done_context(session: Session, booking: Booking, *, created: bool) -> dict[str, Any]:
    confirmation = booking_confirmation_text(
        session=session, calendar=_calendar(), booking_id=booking.id or 0
    )
    client = client_get(session=session, client_id=booking.client_id)
    rows = booking_outbox(
        session=session, booking_id=booking.id or 0, kind=MessageKind.CONFIRMATION
    )
    specialists = {s.staff.id: s for s in service_specialists(session, booking.service_id)}
    state = DeskState(client_id=client.id, service_id=booking.service_id)
    return {
        "booking": booking,
        "created": created,
        "text": confirmation.text,
        "outbox": rows,
        "qr": _qr_data_uri(booking.qr_payload),
        "client": client,
        "specialist": specialists.get(booking.staff_id),
        "state": state,
        "local_start": _calendar().to_local(booking.starts_at),
        "step_template": P_DONE,
    }


@bp.route("/desk/bookings/<int:booking_id>")
@staff_required(Role.OPERATOR)
def desk_booking(booking_id: int) -> Any:
    """A booking's confirmation, to read it to the caller again or print it."""
    session = db()
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Запись не найдена.")
    ctx = _done_context(session, booking, created=False)
    if is_fragment_request():
        return render(PAGE, P_DONE, **_common(), **ctx)
    page = _desk_context(session, ctx["state"])
    page.update(ctx)
    return render(PAGE, **_common(), **page)


@bp.route("/desk/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@staff_required(Role.OPERATOR)
def desk_cancel(booking_id: int) -> Any:
    """§32: ask, then cancel; the slot is free at once and the client gets a message."""
    session = db()
    state = DeskState.from_request()
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Запись не найдена.")
    client = client_get(session=session, client_id=booking.client_id)
    state.client_id = client.id
    if request.method == "GET":
        upcoming = client_bookings_upcoming(session=session, client_id=client.id or 0)
        item = next((u for u in upcoming if u.booking.id == booking_id), None)
        if item is None:
            return _bookings_with(session, client, state, error="Эту запись уже нельзя отменить.")
        return render(PAGE, P_CANCEL, item=item, state=state, **_common())
    try:
        cancelled = booking_cancel(
            session=session,
            calendar=_calendar(),
            booking_id=booking_id,
            staff=current_staff(),
            reason=request.form.get("reason", ""),
        )
    except PriyomError as exc:
        return _bookings_with(session, client, state, error=exc.message, status=exc.status)
    rows = booking_outbox(session=session, booking_id=booking_id, kind=MessageKind.CANCELLATION)
    local = _calendar().to_local(cancelled.starts_at)
    queued = [r for r in rows if r.status != "skipped"]
    where = ", ".join(
        f"{CHANNEL_LABELS[Channel(r.channel)]} ({_recipient_display(r.channel, r.recipient)})"
        for r in queued
    )
    notice = (
        f"Запись на {date_short(local)}, {local:%H:%M} отменена. Это время снова свободно. "
        + (
            f"Сообщение об отмене поставлено в очередь: {where}."
            if where
            else "Сообщите клиенту об отмене сейчас, в разговоре."
        )
    )
    if not is_fragment_request():
        return hx_redirect(state.url())
    return _bookings_with(session, client, state, notice=notice, trigger=True)


def _recipient_display(channel: str, recipient: str) -> str:
    return recipient if channel == Channel.EMAIL else phone_display(recipient)


def _bookings_with(
    session: Session,
    client: Client,
    state: DeskState,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    trigger: bool = False,
) -> Any:
    ctx = _client_context(session, client)
    return render(
        PAGE,
        P_BOOKINGS,
        status=status,
        trigger={SLOTS_CHANGED: True} if trigger else None,
        state=state,
        bookings_error=error,
        bookings_notice=notice,
        **_common(),
        **ctx,
    )
