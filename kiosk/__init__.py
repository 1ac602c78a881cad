"""Blueprint of the kiosk screens."""

from flask import Blueprint

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static")
# Pages for visitors' own phones, without a device token: the ticket page /t/<token>.
public_bp = Blueprint("kiosk_public", __name__)

from kiosk import views  # noqa: E402,F401  (routes register on import)
