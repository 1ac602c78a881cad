"""The client card: data, the interaction history (§4, §34.4), export, data requests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, make_response, request, url_for
from flask.typing import ResponseReturnValue

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import InvalidInput, PriyomError
from visits.export import FORMAT_LABELS
from visits.models import CHANNEL_LABELS, HISTORY_LABELS, Channel, Role, Staff
from visits.phones import phone_display
from visits.queries.history import (
    HistoryFilter,
    clients_visible,
    history_kind_choices,
    history_require_access,
    sees_all_histories,
)
from visits.services.client_data import (
    CONSENT_WITHDRAWN_NOTE,
    client_consent_withdraw,
    client_merge,
    client_update,
)
from visits.services.history import history_view
from visits.services.history_export import history_export, history_send
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import hx_redirect, render

ROLES = (Role.OPERATOR, Role.ADMINISTRATOR, Role.SPECIALIST)
# ASCII event name: header values must be latin-1.
CHANGED = {"client-changed": True}

nav_item("staff_panel.clients", "Клиенты", *ROLES, order=25)


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _common() -> dict[str, Any]:
    return {
        "channel_labels": {c.value: CHANNEL_LABELS[c] for c in Channel},
        "phone_display": phone_display,
        "format_labels": FORMAT_LABELS,
        "consent_note": CONSENT_WITHDRAWN_NOTE,
        "history_labels": HISTORY_LABELS,
    }


@bp.route("/clients")
@staff_required(*ROLES)
def clients() -> ResponseReturnValue:
    """Find a client by phone or surname; a specialist sees the clients booked to them."""
    me = _me()
    query = request.args.get("q", "")
    found = clients_visible(session=db(), staff=me, query=query)
    return render(
        "staff_panel/pages/client_search.html",
        "staff_panel/partials/_client_list.html",
        query=query,
        found=found,
        sees_all=sees_all_histories(me),
        **_common(),
    )


def _filter_from_request() -> tuple[HistoryFilter, str | None]:
    try:
        return (
            HistoryFilter.parse(
                kinds=request.args.getlist("kind"),
                date_from=request.args.get("date_from"),
                date_to=request.args.get("date_to"),
            ),
            None,
        )
    except InvalidInput as exc:
        return HistoryFilter(), exc.message


@bp.route("/clients/<int:client_id>")
@staff_required(*ROLES)
def client_card(client_id: int) -> ResponseReturnValue:
    """The client card with the history timeline; htmx filter requests get the timeline only."""
    chosen, filter_error = _filter_from_request()
    history = history_view(
        session=db(),
        calendar=priyom().calendar,
        staff=_me(),
        client_id=client_id,
        filter=chosen,
    )
    return render(
        "staff_panel/pages/client.html",
        "staff_panel/partials/_history_timeline.html",
        status=422 if filter_error else 200,
        h=history,
        client=history.client,
        kinds=history_kind_choices(),
        filter_error=filter_error,
        can_merge=sees_all_histories(_me()),
        **_common(),
    )


@bp.route("/clients/<int:client_id>/export", methods=["POST"])
@staff_required(*ROLES)
def client_export(client_id: int) -> Response:
    """Hand out the whole history as a file: PDF, HTML (opens for printing), JSON or CSV."""
    exported = history_export(
        session=db(),
        calendar=priyom().calendar,
        staff=_me(),
        client_id=client_id,
        fmt=request.form.get("format", ""),
        pdf_font=priyom().settings.pdf_font,
    )
    response = make_response(exported.content)
    response.headers["Content-Type"] = exported.media_type
    disposition = "inline" if exported.filename.endswith(".html") else "attachment"
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(exported.filename)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/clients/<int:client_id>/send", methods=["POST"])
@staff_required(*ROLES)
def client_send(client_id: int) -> ResponseReturnValue:
    """Send the history by the client's channel; answer with a notice in the export panel."""
    error = None
    sent: list[str] = []
    try:
        rows = history_send(
            session=db(), calendar=priyom().calendar, staff=_me(), client_id=client_id
        )
        sent = [CHANNEL_LABELS[Channel(r.channel)] for r in rows if r.status == "queued"]
    except PriyomError as exc:
        if exc.status in (403, 404):
            raise
        error = exc.message
    return render(
        "staff_panel/partials/_client_export_notice.html",
        status=409 if error else 200,
        trigger=None if error else CHANGED,
        error=error,
        sent=sent,
    )


@bp.route("/clients/<int:client_id>/data")
@staff_required(*ROLES)
def client_data(client_id: int) -> ResponseReturnValue:
    """The data block, or its edit form with ?edit=1."""
    client = history_require_access(db(), staff=_me(), client_id=client_id)
    partial = (
        "staff_panel/partials/_client_edit.html"
        if request.args.get("edit")
        else "staff_panel/partials/_client_data.html"
    )
    return render(partial, client=client, error=None, form=None, **_common())


@bp.route("/clients/<int:client_id>/data", methods=["POST"])
@staff_required(*ROLES)
def client_data_save(client_id: int) -> ResponseReturnValue:
    """Correct the client's data at their request (history: CLIENT_UPDATED)."""
    form = request.form
    try:
        client = client_update(
            session=db(),
            client_id=client_id,
            staff=_me(),
            surname=form.get("surname", ""),
            first_name=form.get("first_name", ""),
            patronymic=form.get("patronymic", ""),
            phone=form.get("phone", ""),
            email=form.get("email"),
            channel=form.get("channel"),
            second_channel=form.get("second_channel"),
            city_code=priyom().config.office.city_code,
        )
    except InvalidInput as exc:
        client = history_require_access(db(), staff=_me(), client_id=client_id)
        return render(
            "staff_panel/partials/_client_edit.html",
            status=422,
            client=client,
            error=exc.message,
            error_field=exc.field,
            form=form,
            **_common(),
        )
    return render(
        "staff_panel/partials/_client_data.html",
        trigger=CHANGED,
        client=client,
        **_common(),
    )


@bp.route("/clients/<int:client_id>/consent-withdraw", methods=["POST"])
@staff_required(*ROLES)
def client_consent(client_id: int) -> ResponseReturnValue:
    """Record the client's withdrawal of consent: no more messages (§4)."""
    client = client_consent_withdraw(session=db(), client_id=client_id, staff=_me())
    return render(
        "staff_panel/partials/_client_data.html",
        trigger=CHANGED,
        client=client,
        **_common(),
    )


@bp.route("/clients/<int:client_id>/merge")
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def client_merge_candidates(client_id: int) -> ResponseReturnValue:
    """Search for the duplicate record to merge into this one."""
    query = request.args.get("q", "")
    found = [
        c for c in clients_visible(session=db(), staff=_me(), query=query) if c.id != client_id
    ]
    return render(
        "staff_panel/partials/_client_merge.html",
        client_id=client_id,
        query=query,
        found=found,
        error=None,
        **_common(),
    )


@bp.route("/clients/<int:client_id>/merge", methods=["POST"])
@staff_required(Role.OPERATOR, Role.ADMINISTRATOR)
def client_merge_post(client_id: int) -> ResponseReturnValue:
    """Merge the chosen duplicate into this client; the card reloads with the joined history."""
    raw = request.form.get("other_id", "")
    if not raw.isdigit():
        raise InvalidInput("Выберите запись-дубликат из списка.", field="other_id")
    client_merge(session=db(), source_id=int(raw), target_id=client_id, staff=_me())
    return hx_redirect(url_for("staff_panel.client_card", client_id=client_id))
