"""What the administrators are told about attempts to get in (bursts of failed logins)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from visits.models import AuditEntry

LOGIN_BURST_ACTION = "login.burst"
# Alerts stay on screen this long: a working day and the night before.
ALERT_HOURS = 24


def login_alerts_recent(session: Session, *, now: datetime) -> list[AuditEntry]:
    """Bursts of failed logins written in the last day, newest first."""
    since = now - timedelta(hours=ALERT_HOURS)
    rows = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.action) == LOGIN_BURST_ACTION, col(AuditEntry.at) >= since)
        .order_by(col(AuditEntry.at).desc())
        .limit(20)
    ).all()
    return list(rows)
