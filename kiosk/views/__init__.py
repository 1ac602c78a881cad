"""Visitor touchscreen routes: the lobby kiosk and the rating tablet."""

from kiosk.views import lobby, tablet, ticket  # noqa: F401
