"""The consultation line's call desk (order part III, §18-27). Routes only.

/staff/line is the operator's desk: «Новый звонок» (also the F2 key anywhere in
the panel) opens a call card; the card is one fragment, #call-card, that every
action on it returns re-rendered, with the action's message in its own section.
Call-backs are closed in «Звонки» (/staff/calls), next to the operators' call tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, request, url_for
from flask.typing import ResponseReturnValue

from staff_panel import bp
from staff_panel.forms import client_fields
from staff_panel.nav import nav_item
from visits.errors import Forbidden, InvalidInput, PriyomError
from visits.models import (
    CALL_OUTCOME_LABELS,
    CHANNEL_LABELS,
    CallOutcome,
    Channel,
    Role,
    Staff,
)
from visits.notify.templates import call_addressee
from visits.queries.calls import (
    CallCard,
    call_card,
    call_visible_to,
    callback_row,
    calls_incoming,
    directory_search,
    handover_candidates,
    line_desk,
)
from visits.queries.slots import bookable_services
from visits.services.calls import (
    MAX_HANDOVERS,
    call_client_set,
    call_close,
    call_details_set,
    call_handover,
    call_open,
    call_refer,
    callback_close,
    callback_deadline,
    callback_deadline_phrase,
    callback_intervals_parse,
    callback_promise,
    crisis_phrases,
    handover_sentence,
    intervals_text,
    non_business_warning,
)
from visits.services.clients import ClientInvalid, client_register, client_search, phone_display
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import hx_redirect, is_fragment_request, render

log = logging.getLogger(__name__)

LINE_ROLES = (Role.OPERATOR, Role.SPECIALIST, Role.ADMINISTRATOR)
nav_item("staff_panel.line", "Консультационная линия", Role.OPERATOR, Role.ADMINISTRATOR, order=12)

PAGE_LINE = "staff_panel/pages/call_line.html"
PAGE_CARD = "staff_panel/pages/call_card.html"
P_LINE = "staff_panel/partials/_call_line.html"
P_CARD = "staff_panel/partials/_call_card.html"
P_SEARCH = "staff_panel/partials/_call_search.html"
P_HANDOVER = "staff_panel/partials/_call_handover_confirm.html"
P_DIRECTORY = "staff_panel/partials/_call_directory.html"
P_CRISIS = "staff_panel/partials/_call_crisis.html"
P_INCOMING = "staff_panel/partials/_call_incoming.html"
P_CALLBACK_ROW = "staff_panel/partials/_callback_row.html"

NOT_VISIBLE = (
    "Эта карточка звонка доступна операторам, администраторам и коллегам, "
    "которым переключили звонок или поручили перезвон."
)
PICK_COLLEAGUE = "Выберите коллегу из списка."
OUTCOME_CHOICES = [(o.value, CALL_OUTCOME_LABELS[o]) for o in CallOutcome]
CHANNEL_CHOICES = [(c.value, CHANNEL_LABELS[c]) for c in Channel]


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _id(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value) or None


def _common() -> dict[str, Any]:
    config = priyom().config
    return {
        "phone_display": phone_display,
        "line_hours": config.line_hours(),
        "phones": ", ".join(config.office.phones),
        "intervals_text": intervals_text,
        "call_addressee": call_addressee,
        "outcome_labels": CALL_OUTCOME_LABELS,
        "Role": Role,
        "channel_label": lambda c: CHANNEL_LABELS.get(Channel(c), c) if c else "",
    }


def _visible_card(call_id: int) -> CallCard:
    """The card, if this staff member may see it (a specialist: calls they took part in)."""
    card = call_card(db(), config=priyom().config, call_id=call_id)
    if not call_visible_to(card, _me()):
        raise Forbidden(NOT_VISIBLE, code="call_not_visible")
    return card


def _can_act(card: CallCard, me: Staff) -> bool:
    return card.is_open and (card.call.staff_id == me.id or me.has_role(Role.ADMINISTRATOR))


def _card_context(call_id: int, **extra: Any) -> dict[str, Any]:
    session, calendar = db(), priyom().calendar
    config = calendar.config
    me = _me()
    card = _visible_card(call_id)
    query = request.values.get("dq", "") if "dq" in request.values else ""
    return {
        "card": card,
        "me": me,
        "can_act": _can_act(card, me),
        "topics": config.consultation.topics,
        "services": bookable_services(session),
        "candidates": handover_candidates(session, config=config, call=card.call)
        if card.is_open
        else [],
        "max_handovers": MAX_HANDOVERS,
        "directory": directory_search(config, query),
        "directory_query": query,
        "outcomes": OUTCOME_CHOICES,
        "warning_text": non_business_warning(me),
        "callback_days": config.consultation.callback_working_days,
        "callback_deadline": callback_deadline(
            calendar, promised_at=card.now, working_days=config.consultation.callback_working_days
        ),
        "deadline_phrase": callback_deadline_phrase,
        "channel_choices": CHANNEL_CHOICES,
        "errors": extra.pop("errors", {}),
        "notices": extra.pop("notices", {}),
        "form": extra.pop("form", {}),
        **_common(),
        **extra,
    }


def _card_redirect(call_id: int | None) -> Response:
    """Send a plain request (no htmx) to the whole card page."""
    return hx_redirect(url_for("staff_panel.call", call_id=call_id))


# HX-Trigger after a change on a card: the strip of open calls on the page re-reads itself.
LINE_CHANGED = {"lineChanged": True}


def _card(
    call_id: int, *, status: int = 200, trigger: dict[str, Any] | None = None, **extra: Any
) -> Response:
    """The card: the fragment for htmx, the whole page otherwise."""
    ctx = _card_context(call_id, **extra)
    return render(PAGE_CARD, P_CARD, status=status, trigger=trigger, **ctx)


def _after(
    call_id: int, action: Callable[[], object], section: str, *, notice: str = ""
) -> Response:
    """Run a service call; the card comes back with its notice or the refusal in `section`."""
    try:
        action()
    except ClientInvalid as exc:
        return _card(call_id, status=exc.status, errors=exc.errors, form=request.form)
    except PriyomError as exc:
        log.info("call %s: %s refused: %s", call_id, section, exc.message)
        return _card(call_id, status=exc.status, errors={section: exc.message}, form=request.form)
    if not is_fragment_request():
        return _card_redirect(call_id)
    return _card(call_id, notices={section: notice} if notice else {}, trigger=LINE_CHANGED)


# ---------------------------------------------------------------- the desk and the card


@bp.route("/line")
@staff_required(*LINE_ROLES)
def line() -> ResponseReturnValue:
    """The line's desk: the calls this staff member holds now, and today's closed ones."""
    desk = line_desk(db(), config=priyom().config, staff=_me())
    return render(PAGE_LINE, P_LINE, desk=desk, **_common())


@bp.route("/line/calls", methods=["POST"])
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def call_new() -> ResponseReturnValue:
    """The phone rings: a new card, its time counted from now (§18)."""
    call = call_open(session=db(), staff=_me())
    return _card_redirect(call.id)


@bp.route("/line/calls/<int:call_id>")
@staff_required(*LINE_ROLES)
def call(call_id: int) -> ResponseReturnValue:
    """One call card."""
    return _card(call_id)


@bp.route("/line/calls/<int:call_id>/search")
@staff_required(*LINE_ROLES)
def call_search(call_id: int) -> ResponseReturnValue:
    """Find the caller by phone or surname, as the booking desk does."""
    query = request.args.get("q", "")
    if not is_fragment_request():
        return _card_redirect(call_id)
    # Searching every client is for whoever holds the call now, not for any reader of it.
    if not _can_act(_visible_card(call_id), _me()):
        raise Forbidden(NOT_VISIBLE, code="call_not_yours")
    return render(
        PAGE_CARD,
        P_SEARCH,
        results=client_search(session=db(), query=query),
        query=query.strip(),
        call_id=call_id,
        **_common(),
    )


@bp.route("/line/calls/<int:call_id>/client", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_client(call_id: int) -> ResponseReturnValue:
    """The caller is this client, or stays anonymous (client empty)."""
    client_id = _id(request.form.get("client"))
    if request.form.get("client") and client_id is None:
        return _card(call_id, status=422, errors={"client": "Выберите клиента из списка."})
    return _after(
        call_id,
        lambda: call_client_set(session=db(), call_id=call_id, staff=_me(), client_id=client_id),
        "client",
        notice="Клиент выбран." if client_id else "Звонок анонимный.",
    )


@bp.route("/line/calls/<int:call_id>/register", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_register(call_id: int) -> ResponseReturnValue:
    """Register the caller (§3: channels and consent) and name them on the card."""
    form = request.form

    def register() -> None:
        # The line's form has no early-messages box: a posted one is not taken.
        fields = client_fields(form)
        fields["allow_early_messages"] = False
        client = client_register(session=db(), **fields, staff=_me())
        call_client_set(session=db(), call_id=call_id, staff=_me(), client_id=client.id)

    return _after(call_id, register, "register", notice="Клиент зарегистрирован.")


@bp.route("/line/calls/<int:call_id>/details", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_details(call_id: int) -> ResponseReturnValue:
    """§21: the topic, the service and a short note."""
    form = request.form
    service_raw = form.get("service", "")
    service_id = _id(service_raw)
    if service_raw and service_id is None:
        return _card(call_id, status=422, errors={"details": "Выберите услугу из списка."})
    return _after(
        call_id,
        lambda: call_details_set(
            session=db(),
            config=priyom().config,
            call_id=call_id,
            staff=_me(),
            topic=form.get("topic", ""),
            service_id=service_id,
            note=form.get("note", ""),
        ),
        "details",
        notice="Сохранено.",
    )


@bp.route("/line/calls/<int:call_id>/handover", methods=["GET", "POST"])
@staff_required(*LINE_ROLES)
def call_handover_view(call_id: int) -> ResponseReturnValue:
    """§23: GET shows the sentence to say first; POST switches the call."""
    to_id = _id(request.values.get("to"))
    if request.method == "GET":
        ctx = _card_context(call_id)
        colleague = next((c.staff for c in ctx["candidates"] if c.staff.id == to_id), None)
        if colleague is None:
            return _card(call_id, status=422, errors={"handover": PICK_COLLEAGUE})
        ctx["colleague"] = colleague
        ctx["sentence"] = handover_sentence(client=ctx["card"].client, colleague=colleague)
        # The whole page shows the sentence inside the card; htmx swaps in the part alone.
        return render(
            PAGE_CARD, P_HANDOVER, page_context=lambda: {"handover_template": P_HANDOVER}, **ctx
        )
    if to_id is None:
        return _card(call_id, status=422, errors={"handover": PICK_COLLEAGUE})
    try:
        handover = call_handover(
            session=db(),
            call_id=call_id,
            staff=_me(),
            to_staff_id=to_id,
            note=request.form.get("note", ""),
        )
    except PriyomError as exc:
        return _card(call_id, status=exc.status, errors={"handover": exc.message})
    # The call is the colleague's now: this card shows who has it, read-only.
    return _card(
        call_id,
        notices={"handover": f"Звонок переключён ({handover.said})"},
        trigger=LINE_CHANGED,
    )


@bp.route("/line/calls/<int:call_id>/callback", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_callback(call_id: int) -> ResponseReturnValue:
    """§24: the phone to call back, the deadline told, the caller's convenient times."""
    form = request.form
    days = _id(form.get("working_days"))
    responsible = _id(form.get("responsible"))

    def promise() -> None:
        if days is None:
            raise InvalidInput("Укажите срок ответа в рабочих днях.", field="working_days")
        intervals = callback_intervals_parse(
            [
                (form.get("from1", ""), form.get("to1", "")),
                (form.get("from2", ""), form.get("to2", "")),
            ]
        )
        callback_promise(
            session=db(),
            calendar=priyom().calendar,
            call_id=call_id,
            staff=_me(),
            phone=form.get("phone", ""),
            working_days=days,
            intervals=intervals,
            question=form.get("question", ""),
            responsible_staff_id=responsible,
        )

    return _after(call_id, promise, "callback", notice="Перезвон записан.")


@bp.route("/line/calls/<int:call_id>/directory")
@staff_required(*LINE_ROLES)
def call_directory(call_id: int) -> ResponseReturnValue:
    """§26: the directory of other bodies, searched by topic."""
    if not is_fragment_request():
        return _card_redirect(call_id)
    return render(PAGE_CARD, P_DIRECTORY, **_card_context(call_id))


@bp.route("/line/calls/<int:call_id>/refer", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_refer_view(call_id: int) -> ResponseReturnValue:
    """§26: record the body whose contacts the caller got; send them if asked."""
    entry = request.form.get("entry", "")
    if not entry.isdigit():
        return _card(call_id, status=422, errors={"refer": "Выберите организацию из справочника."})
    send = request.form.get("send") == "yes"
    return _after(
        call_id,
        lambda: call_refer(
            session=db(),
            config=priyom().config,
            call_id=call_id,
            staff=_me(),
            entry_index=int(entry),
            send=send,
        ),
        "refer",
        notice="Контакты отправлены клиенту." if send else "Выбор записан.",
    )


@bp.route("/line/calls/<int:call_id>/crisis")
@staff_required(*LINE_ROLES)
def call_crisis(call_id: int) -> ResponseReturnValue:
    """§27: the order's phrases with the caller's first name and patronymic."""
    ctx = _card_context(call_id)
    ctx["phrases"] = crisis_phrases(ctx["card"].client)
    return render(PAGE_CARD, P_CRISIS, **ctx)


@bp.route("/line/calls/<int:call_id>/close", methods=["POST"])
@staff_required(*LINE_ROLES)
def call_close_view(call_id: int) -> ResponseReturnValue:
    """End the call with its outcome (§27: a non-business call after the warning)."""
    form = request.form
    return _after(
        call_id,
        lambda: call_close(
            session=db(),
            calendar=priyom().calendar,
            call_id=call_id,
            staff=_me(),
            outcome=form.get("outcome", ""),
            warning_said=form.get("warning_said") == "yes",
        ),
        "close",
        notice="Звонок завершён.",
    )


@bp.route("/line/incoming")
@staff_required()
def line_incoming() -> ResponseReturnValue:
    """The strip every staff page loads: calls handed over to me (§23), and F2 for operators."""
    me = _me()
    rows = calls_incoming(db(), config=priyom().config, staff=me)
    # The line's desk, when it is the page, re-reads its list with the strip (one stream).
    return render(
        P_INCOMING, P_INCOMING, rows=rows, me=me, trigger={"lineIncoming": True}, **_common()
    )


# ---------------------------------------------------------------- call-backs in «Звонки»


@bp.route("/calls/callbacks/<int:callback_id>/done", methods=["POST"])
@staff_required(*LINE_ROLES)
def callback_done(callback_id: int) -> ResponseReturnValue:
    """§24.4: the caller was called back; the row comes back closed with the answer."""
    try:
        callback_close(
            session=db(),
            callback_id=callback_id,
            staff=_me(),
            answer=request.form.get("answer", ""),
        )
    except PriyomError as exc:
        return _callback_row(callback_id, status=exc.status, row_error=exc.message)
    if not is_fragment_request():
        return hx_redirect(url_for("staff_panel.calls"))
    return _callback_row(callback_id, trigger={"callsChanged": True})


def _callback_row(callback_id: int, **options: Any) -> Response:
    """Render one call-back's row as it stands now, with `options` (status, error, trigger)."""
    row = callback_row(db(), callback_id=callback_id)
    return render(P_CALLBACK_ROW, P_CALLBACK_ROW, row=row, **options, **_common())
