"""Health, readiness and metrics endpoints."""

from datetime import timedelta

from flask.testing import FlaskClient
from sqlmodel import Session

from visits.calendar import utcnow
from visits.db import write_transaction
from visits.models import SchedulerLease


def test_healthz_and_metrics(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    body = client.get("/metrics").get_data(as_text=True)
    for name in (
        "priyom_tickets_issued_today",
        "priyom_tickets_called_today",
        "priyom_print_jobs_failed",
        "priyom_outbox_backlog",
        "priyom_push_clients",
    ):
        assert f"\n{name} " in "\n" + body


def test_readyz_reports_a_stale_scheduler(client: FlaskClient, session: Session) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["scheduler"] == "not started"
    with write_transaction(session):
        session.add(
            SchedulerLease(
                name="main",
                holder="host:1",
                expires_at=utcnow(),
                heartbeat_at=utcnow() - timedelta(minutes=10),
            )
        )
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["scheduler"] == "stale"
