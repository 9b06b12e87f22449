"""Exact latency statistics over every sample of a run.

No histograms or sketches: a run holds at most a few hundred thousand samples, so sorting
them all costs milliseconds and the percentiles are the samples themselves (nearest-rank
definition), not interpolations a reader has to take on trust.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

NS_PER_MS: Final = 1_000_000


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile: the smallest sample with at least p% of the samples
    at or below it. `sorted_values` must be sorted ascending and non-empty."""
    if not sorted_values:
        raise ValueError("no samples")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {p}")
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
        }


def summarize_ms(samples_ms: Sequence[float]) -> LatencySummary | None:
    """None for a run without a single successful sample (all errors, or no time)."""
    if not samples_ms:
        return None
    ordered = sorted(samples_ms)
    return LatencySummary(
        count=len(ordered),
        p50_ms=percentile(ordered, 50),
        p99_ms=percentile(ordered, 99),
        max_ms=ordered[-1],
        mean_ms=math.fsum(ordered) / len(ordered),
    )


def summarize_ns(samples_ns: Sequence[int]) -> LatencySummary | None:
    return summarize_ms([sample / NS_PER_MS for sample in samples_ns])


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value ÷ baseline, or None when either is missing (the baseline did not run)."""
    if value is None or not baseline:
        return None
    return value / baseline
