"""Blueprint of the staff_panel screens."""

from flask import Blueprint

bp = Blueprint("staff_panel", __name__, template_folder="templates", static_folder="static")

from staff_panel import views  # noqa: E402,F401  (routes register on import)
