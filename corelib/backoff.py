"""The delay before the next try of something that keeps failing: doubling from a first
delay up to a cap, with jitter, so that the replicas that lost the same database or
service at the same moment do not all come back in step."""

from __future__ import annotations

import random
from typing import Final

JITTER_FRACTION: Final = 0.2
# 2**16 times the first delay is past every cap in use; the bound keeps the shift small.
_DOUBLINGS_MAX: Final = 16


def backoff_delay_s(consecutive_failures: int, *, first_s: float, max_s: float) -> float:
    """`first_s` after the first failure, twice as long after each next one, at most
    `max_s`; each within ±JITTER_FRACTION."""
    doublings = max(0, min(consecutive_failures - 1, _DOUBLINGS_MAX))
    base = min(max_s, first_s * float(1 << doublings))
    return base * random.uniform(1 - JITTER_FRACTION, 1 + JITTER_FRACTION)
