"""What a hallway display's push stream carries: the line it draws, not just an id.

A call used to reach each display as ids only, and each display then fetched its
whole board: a hundred displays turned one call into a hundred board queries and
renders, and the number reached the last corridor seconds after the click. Now
the stream adds the call's public line (ticket number, room, floor, the way from
this display's spot, the words to say) to the event, and the display draws it.

The facts of a call are read once per process (one event, a hundred streams),
and the line once per spot: the displays of a spot share one shape (for_spot),
and the stream hub writes them one text.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from visits.calendar import utcnow
from visits.config import OfficeConfig
from visits.queries.signage import (
    ANNOUNCE_WITHIN_SECONDS,
    CALL_KINDS,
    CalledTicket,
    board_call,
    call_shown,
    called_ticket,
)

log = logging.getLogger(__name__)

_MISSING = object()


class DisplayLines:
    """The public line of each recent call event, per display spot, for this process."""

    def __init__(self, capacity: int = 2000) -> None:
        self._lock = threading.Lock()
        self._facts: OrderedDict[int, CalledTicket | None] = OrderedDict()
        self._lines: OrderedDict[tuple[int, str, bool, bool], str] = OrderedDict()
        self._capacity = capacity
        self._spots: dict[str | None, Callable[[int, str, str], str]] = {}

    def for_spot(
        self, session_factory: Callable[[], Session], config: OfficeConfig, spot_key: str | None
    ) -> Callable[[int, str, str], str]:
        """The shape of the streams of displays at `spot_key`: one object per spot, so that
        their streams are one group and get one text per event."""
        with self._lock:
            shape = self._spots.get(spot_key)
            if shape is None:
                shape = self._spots[spot_key] = partial(
                    self.shape, session_factory, config, spot_key
                )
            return shape

    def shape(
        self,
        session_factory: Callable[[], Session],
        config: OfficeConfig,
        spot_key: str | None,
        event_id: int,
        kind: str,
        data: str,
    ) -> str:
        """The event's data for a display at `spot_key`: with "line" for a call.

        "line" is null when the ticket is no longer on the board (a replay after
        its visit ended): the display takes it off. Other events pass unchanged.
        If the database cannot be read, the event goes as it is and the display
        fetches its board instead.
        """
        if kind not in CALL_KINDS:
            return data
        try:
            called = self._called(session_factory, event_id)
        except DBAPIError as exc:
            log.warning("display line of event %s not read (%s)", event_id, type(exc).__name__)
            return data
        if called is None:
            return _with_line(data, None)
        now = utcnow()
        age = max(0, int((now - called.at).total_seconds()))
        key = (event_id, spot_key or "", age <= ANNOUNCE_WITHIN_SECONDS, call_shown(called, age))
        with self._lock:
            cached = self._lines.get(key)
        if cached is not None:
            return cached
        call = board_call(config, config.spot(spot_key) if spot_key else None, called, now)
        shaped = _with_line(data, call.public() if call else None)
        with self._lock:
            self._lines[key] = shaped
            while len(self._lines) > self._capacity:
                self._lines.popitem(last=False)
        return shaped

    def _called(self, session_factory: Callable[[], Session], event_id: int) -> CalledTicket | None:
        with self._lock:
            found = self._facts.get(event_id, _MISSING)
            if found is not _MISSING:
                return found  # type: ignore[return-value]
            # Read under the lock: the other streams woken by this call need the same row.
            with session_factory() as session:
                called = called_ticket(session, event_id=event_id)
            self._facts[event_id] = called
            while len(self._facts) > self._capacity:
                self._facts.popitem(last=False)
            return called


def _with_line(data: str, line: dict[str, object] | None) -> str:
    event: dict[str, Any] = json.loads(data)
    event["line"] = line
    return json.dumps(event, ensure_ascii=False)
