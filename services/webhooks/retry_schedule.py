"""When a failed delivery is tried again.

The documented default: after a failed attempt, wait

    5s, 30s, 2m, 10m, 30m, 1h, 2h, 4h, 8h, 12h, 16h, 24h

(each ±20% jitter, so endpoints that fail together do not retry in lockstep): 13
attempts spanning about 2.8 days. After the last one the delivery has failed. The
schedule is a setting (`PE_WEBHOOK_RETRY_SCHEDULE`) so the sandbox and tests can
compress it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Final

DEFAULT_SCHEDULE: Final = "5s,30s,2m,10m,30m,1h,2h,4h,8h,12h,16h,24h"
RETRIES_MAX: Final = 30
DELAY_S_MAX: Final = 7 * 24 * 3600.0
JITTER_FRACTION: Final = 0.2
_UNITS_S: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DELAY_PATTERN: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


@dataclass(frozen=True)
class RetrySchedule:
    delays_s: tuple[float, ...]

    @property
    def attempts_max(self) -> int:
        """First attempt plus one per delay."""
        return len(self.delays_s) + 1

    @property
    def span_s(self) -> float:
        return sum(self.delays_s)

    def delay_after_failure_s(self, failures: int, rng: random.Random | None = None) -> float | None:
        """Seconds until the next attempt after the `failures`-th failure in a row, or
        None when the schedule is spent."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        if failures > len(self.delays_s):
            return None
        jitter = (rng or random).uniform(1 - JITTER_FRACTION, 1 + JITTER_FRACTION)
        return self.delays_s[failures - 1] * jitter


def parse_schedule(text: str) -> RetrySchedule:
    """ "5s,30s,2m" → RetrySchedule; empty text is the default schedule."""
    source = text.strip() or DEFAULT_SCHEDULE
    parts = [part for part in source.split(",") if part.strip()]
    if len(parts) > RETRIES_MAX:
        raise ValueError(f"a retry schedule has at most {RETRIES_MAX} delays")
    delays: list[float] = []
    for part in parts:
        match = _DELAY_PATTERN.match(part)
        if match is None:
            raise ValueError(f"bad retry delay {part!r}: use a number and ms, s, m, h or d")
        delay_s = float(match.group(1)) * _UNITS_S[match.group(2)]
        if not 0 < delay_s <= DELAY_S_MAX:
            raise ValueError(f"retry delay {part!r} must be above zero and at most 7 days")
        delays.append(delay_s)
    return RetrySchedule(tuple(delays))
