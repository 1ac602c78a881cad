"""What every export format renders: the client and their history rows, as written at the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from visits.calendar import WorkCalendar
from visits.models import CHANNEL_LABELS, HISTORY_LABELS, Channel, Client, HistoryEntry


@dataclass(frozen=True)
class HistoryRow:
    id: int
    at: datetime
    at_local: str
    kind: str
    label: str
    actor: str
    channel: str | None
    channel_label: str
    summary: str
    message: str
    booking_id: int | None
    ticket_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class HistoryDocument:
    office: str
    client: Client
    phone: str  # as the office writes it: "+7 913 123-45-67"
    generated_at_local: str
    generated_by: str
    rows: list[HistoryRow]
    # [office] time_zone_label: the times are the office's («Время новосибирское»).
    time_zone_label: str

    @property
    def channels(self) -> str:
        return ", ".join(CHANNEL_LABELS[Channel(c)] for c in self.client.channels)


def history_row(
    entry: HistoryEntry,
    calendar: WorkCalendar,
    *,
    label: str | None = None,
    summary: str | None = None,
) -> HistoryRow:
    """One history entry as the exports show it: local time, Russian labels, message text.

    `label` and `summary` replace the entry's own words where the history reads it anew,
    as the client card does (§30: a reminder reads «Напоминание за сутки: отправлено»).
    """
    assert entry.id is not None
    channel_label = ""
    if entry.channel and entry.channel in {c.value for c in Channel}:
        channel_label = CHANNEL_LABELS[Channel(entry.channel)]
    body = entry.data.get("body") if isinstance(entry.data, dict) else None
    return HistoryRow(
        id=entry.id,
        at=entry.at,
        at_local=calendar.to_local(entry.at).strftime("%d.%m.%Y %H:%M"),
        kind=entry.kind,
        label=label or HISTORY_LABELS.get(entry.kind, entry.kind),
        actor=entry.actor,
        channel=entry.channel,
        channel_label=channel_label,
        summary=summary or entry.summary,
        message=body if isinstance(body, str) else "",
        booking_id=entry.booking_id,
        ticket_id=entry.ticket_id,
        data=dict(entry.data or {}),
    )
