"""The panel's start: each role goes to its main screen."""

from flask import redirect, url_for
from flask.typing import ResponseReturnValue

from staff_panel import bp
from visits.calendar import utcnow
from visits.models import Role
from visits.queries.security import login_alerts_recent
from visits.web.auth import current_staff, staff_required
from visits.web.context import db
from visits.web.htmx import render


@bp.route("/")
@staff_required()
def home() -> ResponseReturnValue:
    """Operators start at the booking desk, specialists at their day, administrators at the day view."""
    staff = current_staff()
    assert staff is not None
    for role, endpoint in (
        (Role.SPECIALIST, "staff_panel.today"),
        (Role.OPERATOR, "staff_panel.desk"),
        (Role.ADMINISTRATOR, "staff_panel.admin_day"),
    ):
        if staff.has_role(role) and endpoint in _endpoints():
            return redirect(url_for(endpoint))
    return redirect(url_for("home.index"))


def _endpoints() -> set[str]:
    from flask import current_app

    return set(current_app.view_functions)


@bp.route("/alerts/security")
@staff_required(Role.ADMINISTRATOR)
def security_alerts() -> ResponseReturnValue:
    """Bursts of failed logins of the last day, under every administrator's header."""
    partial = "staff_panel/partials/_security_alerts.html"
    return render(partial, partial, alerts=login_alerts_recent(db(), now=utcnow()))
