"""Blueprint of the staff screens: booking desk, queue terminal, meeting rooms, reports."""

from flask import Blueprint

bp = Blueprint("staff_panel", __name__, template_folder="templates", static_folder="static")


@bp.app_context_processor
def _nav() -> dict[str, object]:
    from staff_panel.nav import nav_for
    from visits.web.auth import current_staff

    return {"staff_nav": lambda: nav_for(current_staff())}


@bp.before_request
def _push_position() -> None:
    from visits.web.sse import remember_push_position

    remember_push_position()


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    from staff_panel.templating import staff_template_helpers

    return staff_template_helpers()


from staff_panel import views  # noqa: E402,F401  (routes register on import)
