"""The post-visit rating tablet (§36) and the same form on the visitor's phone (§17).

Tablet: /kiosk/tablet (a paired tablet of one room). Idle until the room's
specialist finishes a visit; the "rating.prompt" push brings the prompt.
Phone: /t/<token>/rating, opened from the ticket's own page or the final
message's link; it lives on `rating_bp` (no URL prefix).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from flask import Blueprint, Response, request, url_for
from flask.typing import ResponseReturnValue

from kiosk import bp
from visits.errors import PriyomError
from visits.models import Device, DeviceKind, RatingPrompt, Ticket
from visits.services.rating import (
    ALREADY_RATED,
    SCORE_LABELS,
    RatingSource,
    rating_by_token,
    rating_check_open,
    rating_from_tablet,
    rating_of_ticket,
    rating_prompt_current,
    rating_prompt_for_tablet,
    rating_prompt_skip,
    rating_reasons_for,
    rating_ticket_by_token,
)
from visits.web.auth import current_device, device_required
from visits.web.context import db, priyom
from visits.web.htmx import render
from visits.web.sse import remember_push_position, sse_response

rating_bp = Blueprint("rating", __name__)

# Seconds without a touch before the tablet goes back to idle (the 30 s).
TABLET_IDLE_SECONDS = 30
# The "Спасибо!" screen and messages stay a short while.
TABLET_THANKS_SECONDS = 8

KEYBOARD_ROWS = (
    ("ё", "й", "ц", "у", "к", "е", "н", "г", "ш", "щ", "з", "х", "ъ"),
    ("ф", "ы", "в", "а", "п", "р", "о", "л", "д", "ж", "э"),
    ("я", "ч", "с", "м", "и", "т", "ь", "б", "ю", ",", ".", "?", "!"),
)


@dataclass
class RatingView:
    """Everything the shared form partial (_rating_form.html) needs."""

    state: str  # score | details | thanks | already | message
    ticket_number: str
    target: str  # the element every answer replaces
    post_url: str = ""
    score_urls: dict[int, str] = field(default_factory=dict)
    back_url: str = ""
    score: int | None = None
    reasons: tuple[str, ...] = ()
    chosen: list[str] = field(default_factory=list)
    comment: str = ""
    keyboard: bool = False
    message: str = ""
    via: str = ""
    labels: dict[int, str] = field(default_factory=lambda: dict(SCORE_LABELS))


def _score_arg() -> int | None:
    raw = request.values.get("score", "")
    return int(raw) if raw.isdigit() and int(raw) in SCORE_LABELS else None


def _form_input() -> tuple[int, list[str], str]:
    return (
        _score_arg() or 0,
        request.form.getlist("reasons"),
        request.form.get("comment", ""),
    )


# ---------------------------------------------------------------- the tablet


def _device() -> Device:
    device = current_device(DeviceKind.TABLET)
    assert device is not None
    return device


def _tablet_view(prompt: RatingPrompt, ticket: Ticket, score: int | None) -> RatingView:
    view = RatingView(
        state="details" if score else "score",
        ticket_number=ticket.number,
        target="#tablet-screen",
        post_url=url_for("kiosk.tablet_rate", prompt_id=prompt.id),
        score_urls={
            n: url_for("kiosk.tablet_prompt", prompt_id=prompt.id, score=n) for n in SCORE_LABELS
        },
        back_url=url_for("kiosk.tablet_prompt", prompt_id=prompt.id),
        score=score,
        reasons=rating_reasons_for(score) if score else (),
        keyboard=True,
    )
    return view


def _tablet_screen(
    *,
    view: RatingView | None = None,
    prompt: RatingPrompt | None = None,
    status: int = 200,
) -> Response:
    """The page, or the #tablet-screen fragment, in whatever state it is."""
    device = _device()
    if view is None and prompt is None:
        current = rating_prompt_current(session=db(), device=device)
        if current is not None:
            prompt, ticket = current
            view = _tablet_view(prompt, ticket, None)
    # What happens after the idle time: an open prompt is skipped, anything else goes idle.
    idle_seconds, idle_post = 0, ""
    if view is not None and prompt is not None and view.state in ("score", "details"):
        idle_seconds = TABLET_IDLE_SECONDS
        idle_post = url_for("kiosk.tablet_skip", prompt_id=prompt.id)
    elif view is not None:
        idle_seconds = TABLET_THANKS_SECONDS
    return render(
        "kiosk/pages/tablet.html",
        "kiosk/partials/_tablet_screen.html",
        status=status,
        device=device,
        rating=view,
        prompt=prompt,
        idle_seconds=idle_seconds,
        idle_post=idle_post,
        keyboard_rows=KEYBOARD_ROWS,
    )


@bp.route("/tablet")
@device_required(DeviceKind.TABLET)
def tablet() -> ResponseReturnValue:
    """Idle screen of the room's tablet, or the open prompt if there is one."""
    remember_push_position()  # before the prompt is read: its stream starts there
    return _tablet_screen()


@bp.route("/tablet/current")
@device_required(DeviceKind.TABLET)
def tablet_current() -> ResponseReturnValue:
    """What the tablet shows now: asked for on a push, by the fallback poll, and on idle."""
    return _tablet_screen()


@bp.route("/tablet/events")
@device_required(DeviceKind.TABLET)
def tablet_events() -> ResponseReturnValue:
    """The room's push stream: "rating.prompt" when its specialist finishes a visit."""
    topics = [f"room:{_device().room_id}"]
    # The stream opens its own short sessions; the request's session is not held open.
    db().close()
    return sse_response(topics, priyom().session_factory)


def _tablet_refused(exc: PriyomError, prompt_id: int) -> Response:
    prompt = db().get(RatingPrompt, prompt_id)
    ticket = db().get(Ticket, prompt.ticket_id) if prompt is not None else None
    view = RatingView(
        state="already" if exc.code == "already_rated" else "message",
        # A prompt of another room never shows its ticket number here.
        ticket_number=ticket.number if ticket and exc.code != "wrong_room" else "",
        target="#tablet-screen",
        message=exc.message,
    )
    return _tablet_screen(view=view, status=exc.status)


@bp.route("/tablet/prompts/<int:prompt_id>")
@device_required(DeviceKind.TABLET)
def tablet_prompt(prompt_id: int) -> ResponseReturnValue:
    """Step 1 (faces) or, with ?score=, step 2 (reasons and comment)."""
    try:
        prompt, ticket = rating_prompt_for_tablet(
            session=db(), device=_device(), prompt_id=prompt_id
        )
    except PriyomError as exc:
        return _tablet_refused(exc, prompt_id)
    return _tablet_screen(view=_tablet_view(prompt, ticket, _score_arg()), prompt=prompt)


@bp.route("/tablet/prompts/<int:prompt_id>/rating", methods=["POST"])
@device_required(DeviceKind.TABLET)
def tablet_rate(prompt_id: int) -> ResponseReturnValue:
    score, reasons, comment = _form_input()
    try:
        rating = rating_from_tablet(
            session=db(),
            device=_device(),
            prompt_id=prompt_id,
            score=score,
            reasons=reasons,
            comment=comment,
        )
    except PriyomError as exc:
        return _tablet_refused(exc, prompt_id)
    ticket = db().get(Ticket, rating.ticket_id)
    view = RatingView(
        state="thanks", ticket_number=ticket.number if ticket else "", target="#tablet-screen"
    )
    return _tablet_screen(view=view)


@bp.route("/tablet/prompts/<int:prompt_id>/skip", methods=["POST"])
@device_required(DeviceKind.TABLET)
def tablet_skip(prompt_id: int) -> ResponseReturnValue:
    """30 s without a touch: the prompt is recorded as skipped, the tablet goes idle."""
    # Rated or closed meanwhile: idle is the right screen either way.
    with suppress(PriyomError):
        rating_prompt_skip(session=db(), device=_device(), prompt_id=prompt_id)
    return _tablet_screen()


# ---------------------------------------------------------------- the phone and the link


def _via() -> RatingSource:
    return RatingSource.LINK if request.values.get("via") == "link" else RatingSource.PHONE


def _phone_view(ticket: Ticket, score: int | None) -> RatingView:
    via = _via().value
    view = RatingView(
        state="details" if score else "score",
        ticket_number=ticket.number,
        target="#rating",
        post_url=url_for("rating.form", token=ticket.token),
        score_urls={
            n: url_for("rating.form", token=ticket.token, score=n, via=via) for n in SCORE_LABELS
        },
        back_url=url_for("rating.form", token=ticket.token, via=via),
        score=score,
        reasons=rating_reasons_for(score) if score else (),
        via=via,
    )
    if ticket.id is not None and rating_of_ticket(session=db(), ticket_id=ticket.id):
        view.state = "already"
        view.message = ALREADY_RATED
    else:
        try:
            rating_check_open(ticket)
        except PriyomError as exc:
            view.state = "message"
            view.message = exc.message
    return view


def _phone_render(view: RatingView, status: int = 200) -> Response:
    return render(
        "kiosk/pages/tablet_phone.html",
        "kiosk/partials/_rating_form.html",
        status=status,
        rating=view,
        keyboard_rows=KEYBOARD_ROWS,
    )


@rating_bp.route("/t/<token>/rating", methods=["GET", "POST"])
def form(token: str) -> ResponseReturnValue:
    """The rating form of one ticket; include it in the ticket page with hx-get (see _rating_form.html)."""
    ticket = rating_ticket_by_token(session=db(), token=token)
    if request.method == "GET":
        return _phone_render(_phone_view(ticket, _score_arg()))
    score, reasons, comment = _form_input()
    try:
        rating_by_token(
            session=db(),
            token=token,
            score=score,
            reasons=reasons,
            comment=comment,
            source=_via(),
        )
    except PriyomError as exc:
        view = _phone_view(ticket, score or None)
        if view.state == "details":
            view.chosen, view.comment, view.message = reasons, comment, exc.message
        else:
            view.message = exc.message
        return _phone_render(view, status=exc.status)
    return _phone_render(RatingView(state="thanks", ticket_number=ticket.number, target="#rating"))
