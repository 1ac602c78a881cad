"""Blueprint of the signage screens."""

from flask import Blueprint

bp = Blueprint("signage", __name__, template_folder="templates", static_folder="static")

from signage import views  # noqa: E402,F401  (routes register on import)
