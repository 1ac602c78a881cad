"""The administrator's day view: rooms, queues, waits, devices, late starts."""

from __future__ import annotations

from werkzeug.wrappers import Response

from staff_panel import bp
from staff_panel.nav import nav_item
from visits.models import Role
from visits.queries.admin_day import admin_day as admin_day_query
from visits.web.auth import staff_required
from visits.web.context import db, priyom
from visits.web.htmx import render

nav_item("staff_panel.admin_day", "День офиса", Role.ADMINISTRATOR, order=70)


@bp.route("/admin/day")
@staff_required(Role.ADMINISTRATOR)
def admin_day() -> Response:
    day = admin_day_query(db(), priyom().calendar)
    return render(
        "staff_panel/pages/admin_day.html", "staff_panel/partials/_admin_day.html", day=day
    )
