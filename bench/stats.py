"""Latency figures and budgets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Series:
    """Samples of one measured thing, in milliseconds, with its wall-clock span."""

    name: str
    samples: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None
    # When the requests ran in bursts (rounds), the bursts' durations: throughput is over them.
    spans: list[float] = field(default_factory=list)

    def busy_seconds(self) -> float:
        if self.spans:
            return sum(self.spans)
        return (self.finished or 0) - (self.started or 0)

    def add(self, ms: float) -> None:
        self.samples.append(ms)

    def error(self, why: str) -> None:
        """Count a failed request and keep the first few reasons for the report."""
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(why)

    def summary(self) -> dict[str, object]:
        if not self.samples:
            return {"count": 0, "errors": self.errors, "error_samples": self.error_samples}
        span = self.busy_seconds()
        return {
            "count": len(self.samples),
            "errors": self.errors,
            "p50": round(percentile(self.samples, 50), 2),
            "p95": round(percentile(self.samples, 95), 2),
            "p99": round(percentile(self.samples, 99), 2),
            "max": round(max(self.samples), 2),
            "throughput_per_s": round(len(self.samples) / span, 1) if span > 0 else 0.0,
            "error_samples": self.error_samples,
        }


@dataclass(frozen=True)
class Budget:
    name: str
    metric: str  # "p95" or "value"
    limit: float
    unit: str
    higher_is_better: bool = False

    def check(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.limit if self.higher_is_better else value < self.limit
