"""Staff panel routes, one module per area. Importing them registers the routes."""

from staff_panel.views import home  # noqa: F401
