"""The history as JSON, following visits/schemas/history.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visits.calendar import utcnow
from visits.export.document import HistoryDocument
from visits.rules import RETENTION_YEARS

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "history.schema.json"


def _json(document: HistoryDocument) -> dict[str, Any]:
    client = document.client
    return {
        "schema_version": SCHEMA_VERSION,
        "office": document.office,
        "generated_at": utcnow().isoformat(),
        "generated_by": document.generated_by,
        "time_zone": "Asia/Novosibirsk",
        "retention_years": RETENTION_YEARS,
        "client": {
            "id": client.id,
            "full_name": client.full_name,
            "surname": client.surname,
            "first_name": client.first_name,
            "patronymic": client.patronymic,
            "phone": client.phone,
            "email": client.email,
            "channels": client.channels,
            "consent_at": client.consent_at.isoformat(),
            "consent_withdrawn_at": client.consent_withdrawn_at.isoformat()
            if client.consent_withdrawn_at
            else None,
        },
        "entries": [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "at_local": row.at_local,
                "kind": row.kind,
                "label": row.label,
                "actor": row.actor,
                "channel": row.channel,
                "summary": row.summary,
                "message": row.message or None,
                "booking_id": row.booking_id,
                "ticket_id": row.ticket_id,
                "data": row.data,
            }
            for row in document.rows
        ],
    }


def render_json(document: HistoryDocument) -> bytes:
    """The document as UTF-8 JSON."""
    return json.dumps(_json(document), ensure_ascii=False, indent=2).encode()


def history_schema() -> dict[str, Any]:
    """The JSON Schema the JSON export follows."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema
