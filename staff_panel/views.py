"""Staff room terminal, booking desk and administration: routes only."""

from typing import Any

from flask import redirect, url_for

from staff_panel import bp
from visits.models import Role
from visits.web.auth import current_staff, staff_required
from visits.web.htmx import render


@bp.route("/")
@staff_required()
def home() -> Any:
    """Send each role to its main screen."""
    staff = current_staff()
    assert staff is not None
    if staff.has_role(Role.OPERATOR):
        return redirect(url_for("staff_panel.desk"))
    return render("staff_panel/pages/home.html")


@bp.route("/desk")
@staff_required(Role.OPERATOR)
def desk() -> Any:
    return render("staff_panel/pages/home.html")
