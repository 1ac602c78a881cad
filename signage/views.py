"""Hallway displays: routes only.

The page connects to /signage/stream (Server-Sent Events, topic "displays").
A call's event carries the line the display draws (signage/stream.py); the
board fragment (display_board()) is fetched when the page opens, once after a
reconnect, and every half minute for the waiting counts.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, make_response, send_file
from flask.typing import ResponseReturnValue

from signage import bp
from signage.stream import DisplayLines
from visits.models import DeviceKind
from visits.queries.signage import (
    BOARD_SIZE,
    CALL_KINDS,
    DISPLAYS_TOPIC,
    call_event_phrase,
    display_board,
    display_directory,
)
from visits.ru import MONTHS_GENITIVE, WEEKDAYS
from visits.services.devices import device_by_token
from visits.services.tts import chime_audio, speech_audio
from visits.web.auth import current_device, device_required, device_token
from visits.web.context import db, priyom
from visits.web.htmx import is_fragment_request, render
from visits.web.sse import HEARTBEAT_SECONDS, sse_response


@bp.route("/")
@device_required(DeviceKind.DISPLAY)
def board() -> ResponseReturnValue:
    device = current_device(DeviceKind.DISPLAY)
    assert device is not None
    calendar = priyom().calendar
    board = display_board(db(), calendar, spot_key=device.spot_key)
    context: dict[str, Any] = {
        "board": board,
        "board_size": BOARD_SIZE,
        "server_now_ms": int(board.now.timestamp() * 1000),
    }
    if not is_fragment_request():
        today = calendar.to_local(board.now)
        context.update(
            device=device,
            directory=display_directory(db(), calendar.config, spot_key=device.spot_key),
            date_text=f"{WEEKDAYS[today.weekday()]}, {today.day} {MONTHS_GENITIVE[today.month - 1]}",
            event_kinds=CALL_KINDS,
        )
    response = render("signage/pages/board.html", "signage/partials/_board_live.html", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/stream")
@device_required(DeviceKind.DISPLAY)
def stream() -> Response:
    token = device_token(DeviceKind.DISPLAY) or ""
    device = current_device(DeviceKind.DISPLAY)
    assert device is not None
    spot_key = device.spot_key
    factory = priyom().session_factory
    config = priyom().calendar.config
    lines = _display_lines()

    def touch() -> None:
        # The administrator sees each display's last contact time.
        with factory() as session:
            device_by_token(session=session, token=token, kind=DeviceKind.DISPLAY)

    # The stream lasts up to half an hour: give the request's connection back now.
    db().close()
    # Events committed by this server wake the stream at once; the wake-up (shortened by
    # PRIYOM_SSE_HEARTBEAT in the browser tests) only bounds the delay for events written
    # by another process without NOTIFY.
    heartbeat = priyom().settings.sse_heartbeat_within(HEARTBEAT_SECONDS)

    shape = lines.for_spot(factory, config, spot_key)
    return sse_response([DISPLAYS_TOPIC], factory, heartbeat=heartbeat, on_idle=touch, shape=shape)


def _display_lines() -> DisplayLines:
    """The app's cache of call lines (one per app: tests run many apps in one process)."""
    extensions = current_app.extensions
    lines: DisplayLines | None = extensions.get("priyom_display_lines")
    if lines is None:
        lines = extensions.setdefault("priyom_display_lines", DisplayLines())
    return lines


@bp.route("/speech/<int:event_id>.wav")
@device_required(DeviceKind.DISPLAY)
def speech(event_id: int) -> Response:
    """The call announcement as audio, for browsers without a Russian voice."""
    phrase = call_event_phrase(db(), event_id=event_id)
    if phrase is None:
        abort(404)
    settings = priyom().settings
    path = speech_audio(phrase=phrase, cache_dir=settings.speech_cache_dir, espeak=settings.espeak)
    return send_file(path, mimetype="audio/wav", max_age=3600, conditional=False)


@bp.route("/chime.wav")
@device_required(DeviceKind.DISPLAY)
def chime() -> Response:
    response = make_response(chime_audio())
    response.mimetype = "audio/wav"
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
