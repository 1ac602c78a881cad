"""The one helper that decides between a whole page and a fragment."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, make_response, render_template
from htmx_flask import request


def is_fragment_request() -> bool:
    """True for an htmx request that wants a fragment (not a history restore)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(
    page: str,
    partial: str | None = None,
    *,
    status: int = 200,
    trigger: dict[str, Any] | None = None,
    page_context: Callable[[], Mapping[str, Any]] | None = None,
    push_url: str | None = None,
    retarget: str | None = None,
    **context: Any,
) -> Response:
    """Render the partial for htmx requests and the full page otherwise.

    Always sends Vary: HX-Request, so a cache never serves one for the other.
    `trigger` becomes an HX-Trigger header (ASCII event names, JSON payload).
    `page_context` gives what only the whole page needs; it is called only when
    the page is rendered (a plain GET of a fragment's address), and `context`
    wins over it. `push_url` and `retarget` (HX-Push-Url, HX-Retarget) go with
    a fragment only: a page load has its address and its target already.
    """
    fragment = bool(partial) and is_fragment_request()
    if not fragment and page_context is not None:
        context = {**page_context(), **context}
    template = partial if (partial and fragment) else page
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    if trigger:
        # Header values must be latin-1: keep non-ASCII payload escaped.
        response.headers["HX-Trigger"] = json.dumps(trigger, ensure_ascii=True)
    if fragment and push_url:
        response.headers["HX-Push-Url"] = push_url
    if fragment and retarget:
        response.headers["HX-Retarget"] = retarget
    return response


def fragment_or_redirect(
    partial: str,
    location: str,
    context: Callable[[], Mapping[str, Any]],
    **options: Any,
) -> Response:
    """After a change: the changed fragment for htmx, a redirect to `location` for a plain form.

    `context` is called only for the fragment; `options` are render()'s
    (status, trigger, push_url, retarget).
    """
    if not is_fragment_request():
        return hx_redirect(location)
    return render(partial, partial, **options, **context())


def hx_redirect(location: str) -> Response:
    """Redirect the browser: HX-Redirect for htmx, 303 otherwise."""
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", 303)
    response.headers["Location"] = location
    return response
