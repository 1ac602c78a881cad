"""Liveness, readiness and Prometheus metrics for the people who run the servers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from visits.migrate import migrate_is_current
from visits.push import PostgresBus
from visits.queries.ops import ops_counters, scheduler_alive
from visits.web.context import db, priyom
from visits.web.sse import connected_streams

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: database reachable, schema current, scheduler alive."""
    checks: dict[str, Any] = {}
    try:
        db().exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readyz: database unavailable: %s", exc)
        return {"status": "unavailable", "database": str(exc)[:200]}, 503
    engine = current_app.extensions.get("priyom_engine")
    if engine is not None:
        checks["migrations"] = "ok" if migrate_is_current(engine) else "outdated"
    alive = scheduler_alive(db())
    checks["scheduler"] = {True: "ok", False: "stale", None: "not started"}[alive]
    ready = checks.get("migrations", "ok") == "ok" and alive is not False
    return {"status": "ok" if ready else "degraded", **checks}, 200 if ready else 503


@bp.route("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    counters = ops_counters(db(), priyom().calendar)
    lines = [
        "# HELP priyom_tickets_issued_today Tickets issued today (office day).",
        "# TYPE priyom_tickets_issued_today gauge",
        f"priyom_tickets_issued_today {counters['tickets_issued_today']}",
        "# HELP priyom_tickets_called_today Tickets called today.",
        "# TYPE priyom_tickets_called_today gauge",
        f"priyom_tickets_called_today {counters['tickets_called_today']}",
        "# HELP priyom_print_jobs_failed Print jobs that failed and wait for a retry.",
        "# TYPE priyom_print_jobs_failed gauge",
        f"priyom_print_jobs_failed {counters['print_jobs_failed']}",
        "# HELP priyom_print_jobs_stale Print jobs left printing by a stopped process,"
        " not yet taken back.",
        "# TYPE priyom_print_jobs_stale gauge",
        f"priyom_print_jobs_stale {counters['print_jobs_stale']}",
        "# HELP priyom_print_jobs_sent_unconfirmed Today's jobs sent to printers that cannot"
        " confirm printing.",
        "# TYPE priyom_print_jobs_sent_unconfirmed gauge",
        f"priyom_print_jobs_sent_unconfirmed {counters['print_jobs_sent_unconfirmed_today']}",
        "# HELP priyom_printers_paper_near_end Kiosk printers whose roll is near its end.",
        "# TYPE priyom_printers_paper_near_end gauge",
        f"priyom_printers_paper_near_end {counters['printers_paper_near_end']}",
        "# HELP priyom_printers_paper_out Kiosk printers out of paper.",
        "# TYPE priyom_printers_paper_out gauge",
        f"priyom_printers_paper_out {counters['printers_paper_out']}",
        "# HELP priyom_outbox_backlog Messages queued or being sent.",
        "# TYPE priyom_outbox_backlog gauge",
        f"priyom_outbox_backlog {counters['outbox_backlog']}",
        "# HELP priyom_push_clients Push streams connected to this process.",
        "# TYPE priyom_push_clients gauge",
        f"priyom_push_clients {connected_streams()}",
    ]
    bus = priyom().bus
    if isinstance(bus, PostgresBus):
        lines += [
            "# HELP priyom_push_listener_up 1 while this process LISTENs for other servers' events.",
            "# TYPE priyom_push_listener_up gauge",
            f"priyom_push_listener_up {1 if bus.connected.is_set() else 0}",
            "# HELP priyom_push_listener_reconnects_total Times the listener lost the database.",
            "# TYPE priyom_push_listener_reconnects_total counter",
            f"priyom_push_listener_reconnects_total {bus.reconnects}",
        ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
