"""§34.4 "заблаговременно": tomorrow's visits to prepare, each with its card and documents."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.errors import PriyomError
from visits.models import Role, Staff
from visits.queries.preparation import visits_to_prepare
from visits.services.preparation import booking_prepared_set
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.htmx import render

nav_item("staff_panel.tomorrow", "Завтра", Role.SPECIALIST, order=21)

PAGE = "staff_panel/pages/tomorrow.html"
LIST = "staff_panel/partials/_tomorrow.html"


def _me() -> Staff:
    staff = current_staff()
    assert staff is not None
    return staff


def _list(*, error: str | None = None, status: int = 200) -> Response:
    preparation = visits_to_prepare(db(), priyom().calendar, _me())
    return render(PAGE, LIST, status=status, preparation=preparation, error=error)


@bp.route("/today/tomorrow")
@staff_required(Role.SPECIALIST)
def tomorrow() -> Response:
    return _list()


@bp.route("/today/tomorrow/<int:booking_id>/prepared", methods=["POST"])
@staff_required(Role.SPECIALIST)
def tomorrow_prepared(booking_id: int) -> Response:
    try:
        booking_prepared_set(
            session=db(),
            staff=_me(),
            booking_id=booking_id,
            prepared=request.form.get("prepared", "yes") == "yes",
        )
    except PriyomError as exc:
        db().rollback()
        return _list(error=exc.message, status=exc.status)
    return _list()
