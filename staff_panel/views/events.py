"""The staff panels' live stream: events of the staff member's own topic (and "admin")."""

from __future__ import annotations

from werkzeug.wrappers import Response

from staff_panel import bp
from visits.models import Role
from visits.web.auth import current_staff, staff_required
from visits.web.context import db, priyom
from visits.web.sse import sse_response

# A panel re-reads the event table at least this often: events written by another
# process (a second server on SQLite, a CLI job) reach it within these seconds.
# A commit on this server wakes the stream at once.
STAFF_HEARTBEAT_SECONDS = 5.0


@bp.route("/events")
@staff_required()
def events() -> Response:
    """SSE: the panel refreshes its fragments when one of these events arrives."""
    staff = current_staff()
    assert staff is not None
    topics = [f"staff:{staff.id}"]
    if staff.has_role(Role.ADMINISTRATOR):
        topics.append("admin")
    # The stream opens its own short sessions; the request's session is not held open.
    db().close()
    # PRIYOM_SSE_HEARTBEAT may shorten it (the browser tests write from another process).
    heartbeat = priyom().settings.sse_heartbeat_within(STAFF_HEARTBEAT_SECONDS)
    return sse_response(topics, priyom().session_factory, heartbeat=heartbeat)
