"""The desk's client column (§28, §3): find the caller, or register a new one. Routes only.

Same blueprint, addresses and endpoint names as the rest of the desk (staff_panel.desk_search,
staff_panel.desk_client_new, staff_panel.desk_client_create); the desk's state and both
columns come from staff_panel.views.desk. Fragments: #desk-search-results, #desk-client
(the registration form), #desk (both columns once the caller is registered).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from flask import Response, request

from staff_panel import bp
from staff_panel.forms import client_fields, client_prefill
from staff_panel.templating import desk_url
from staff_panel.views.desk import P_DESK, PAGE, Context, desk_context, desk_page, request_choice
from visits.errors import Conflict, InvalidInput
from visits.models import Role
from visits.queries.clients import client_search
from visits.services import clients
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import fragment_or_redirect, render

P_CLIENT_FORM = "staff_panel/partials/_desk_client_form.html"
P_RESULTS = "staff_panel/partials/_desk_search_results.html"


@bp.route("/desk/search")
@staff_required(Role.OPERATOR)
def desk_search() -> Response:
    """Live search by phone or surname (htmx, debounced by the input)."""
    query = request.args.get("q", "")
    results = client_search(session=db(), query=query)
    ctx: Context = {"state": request_choice(), "results": results, "query": query.strip()}
    return render(PAGE, P_RESULTS, page_context=desk_page, **ctx)


@bp.route("/desk/clients/new")
@staff_required(Role.OPERATOR)
def desk_client_new() -> Response:
    """The registration form; a phone typed into the search is carried over."""
    return _client_form(client_prefill(request.args.get("q", "")), {}, status=200)


def _client_form(form: Mapping[str, str], errors: Mapping[str, str], *, status: int) -> Response:
    ctx: Context = {"state": request_choice(), "form": form, "errors": errors}
    page = partial(desk_context, request_choice(), client_template=P_CLIENT_FORM)
    return render(PAGE, P_CLIENT_FORM, status=status, page_context=page, **ctx)


@bp.route("/desk/clients", methods=["POST"])
@staff_required(Role.OPERATOR)
def desk_client_create() -> Response:
    """Register the caller (§3: channels, consent with its time); nothing saved on bad input."""
    form = request.form
    try:
        city_code = priyom().config.office.city_code  # completes a bare city number
        client = clients.client_register(
            session=db(), **client_fields(form), staff=current_staff(), city_code=city_code
        )
    except clients.ClientInvalid as exc:
        return _client_form(form, exc.errors, status=exc.status)
    except (InvalidInput, Conflict) as exc:
        return _client_form(form, {exc.field or "form": exc.message}, status=exc.status)
    choice = request_choice(client_id=client.id)
    ctx = partial(desk_context, choice, client_notice="Клиент зарегистрирован.")
    address = desk_url(choice)
    return fragment_or_redirect(P_DESK, address, ctx, push_url=address, retarget="#desk")
