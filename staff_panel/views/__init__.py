"""Staff panel routes, one module per area. Importing them registers the routes."""

from staff_panel.views import (
    admin_day,  # noqa: F401
    calls,  # noqa: F401
    clients,  # noqa: F401
    desk,  # noqa: F401
    desk_client,  # noqa: F401
    devices,  # noqa: F401
    events,  # noqa: F401
    home,  # noqa: F401
    outbox,  # noqa: F401
    preparation,  # noqa: F401
    queue,  # noqa: F401
    reports,  # noqa: F401
)
