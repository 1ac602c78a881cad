"""An in-memory printer for development, demos and tests."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from printer.errors import DEFAULT_MESSAGES, PrinterError, ReasonCode
from printer.status import PaperState, PrinterStatus

MAX_JOBS: Final = 50


@dataclass(frozen=True)
class VirtualJob:
    """One ticket the virtual printer received."""

    data: bytes
    preview_png: bytes | None
    at: datetime  # UTC


class VirtualPrinter:
    """Keep the last `MAX_JOBS` jobs in memory; can pretend to fail."""

    def __init__(self, name: str = "", max_jobs: int = MAX_JOBS) -> None:
        self.name = name
        self._jobs: deque[VirtualJob] = deque(maxlen=max_jobs)
        self._failure: ReasonCode | None = None
        self._paper: PaperState = "ok"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VirtualPrinter({self.name!r})"

    @property
    def confirms(self) -> bool:
        return True

    def send(self, data: bytes, preview: bytes | None = None) -> PrinterStatus:
        """Store one job and confirm it, or raise the failure set by `fail_with`."""
        with self._lock:
            if self._failure is not None:
                raise PrinterError(self._failure)
            self._jobs.append(VirtualJob(bytes(data), preview, datetime.now(UTC)))
            return PrinterStatus(online=True, paper=self._paper, confirmed=True)

    def status(self) -> PrinterStatus:
        """Report online with paper, or the failure set by `fail_with`."""
        with self._lock:
            failure = self._failure
            paper = self._paper
        if failure is None:
            return PrinterStatus(online=True, paper=paper)
        gone: PaperState = "out" if failure == "paper_out" else "unknown"
        return PrinterStatus(online=False, paper=gone, error=DEFAULT_MESSAGES[failure])

    def fail_with(self, reason_code: ReasonCode | None) -> None:
        """Make every following send fail with this reason (None: work again)."""
        with self._lock:
            self._failure = reason_code

    def set_paper(self, paper: PaperState) -> None:
        """Pretend the roll is "ok" or "near_end" (the roll sensor's two answers that print)."""
        with self._lock:
            self._paper = paper

    @property
    def jobs(self) -> list[VirtualJob]:
        """Return the stored jobs, oldest first."""
        with self._lock:
            return list(self._jobs)

    @property
    def last_job(self) -> VirtualJob | None:
        """Return the newest job, if any."""
        with self._lock:
            return self._jobs[-1] if self._jobs else None

    def clear(self) -> None:
        """Forget all jobs and any simulated failure."""
        with self._lock:
            self._jobs.clear()
            self._failure = None
            self._paper = "ok"


_registry: dict[str, VirtualPrinter] = {}
_registry_lock = threading.Lock()


def virtual_printer(name: str = "") -> VirtualPrinter:
    """Return the process-wide virtual printer of this name, creating it once."""
    with _registry_lock:
        found = _registry.get(name)
        if found is None:
            found = _registry[name] = VirtualPrinter(name)
        return found


def reset_virtual_printers() -> None:
    """Forget every virtual printer (for test isolation)."""
    with _registry_lock:
        _registry.clear()
