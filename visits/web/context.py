"""What the web layer keeps per application: config, calendar, database, push bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g
from sqlmodel import Session

from visits.calendar import WorkCalendar
from visits.config import OfficeConfig
from visits.push import PushBus
from visits.settings import Settings


@dataclass
class Priyom:
    config: OfficeConfig
    calendar: WorkCalendar
    session_factory: Callable[[], Session]
    settings: Settings
    # The app's push bus: its sessions' commits wake it, its streams wait on it.
    bus: PushBus
    demo: bool = False
    extras: dict[str, Any] = field(default_factory=dict)


def priyom() -> Priyom:
    """The Priyom context of the current app."""
    ctx: Priyom = current_app.extensions["priyom"]
    return ctx


def db() -> Session:
    """The request's database session, opened on first use."""
    if "db" not in g:
        g.db = priyom().session_factory()
    session: Session = g.db
    return session
