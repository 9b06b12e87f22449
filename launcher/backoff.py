"""When to restart a crashed process, and when to stop trying.

A process that crashes once is restarted quickly; one that keeps crashing waits longer
each time, and one that crashes too often in a short window is not coming back on its
own: the launcher gives up and says so rather than loop forever.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

RESTARTS_MAX: Final = 5
RESTART_WINDOW_S: Final = 60.0
RESTART_DELAY_S_INITIAL: Final = 0.25
RESTART_DELAY_S_MAX: Final = 8.0


@dataclass(frozen=True)
class RestartLimits:
    restarts_max: int = RESTARTS_MAX
    window_s: float = RESTART_WINDOW_S
    delay_s_initial: float = RESTART_DELAY_S_INITIAL
    delay_s_max: float = RESTART_DELAY_S_MAX


class RestartBudget:
    """Crash history of one process within the sliding window."""

    def __init__(self, limits: RestartLimits) -> None:
        self.limits = limits
        self._crashes_at: deque[float] = deque(maxlen=limits.restarts_max + 1)

    def delay_after_crash(self, now_s: float) -> float | None:
        """Records a crash at `now_s` (monotonic); returns the delay before restarting, or
        None when the budget is spent."""
        while self._crashes_at and now_s - self._crashes_at[0] > self.limits.window_s:
            self._crashes_at.popleft()
        if len(self._crashes_at) >= self.limits.restarts_max:
            return None
        delay_s: float = min(
            self.limits.delay_s_initial * 2.0 ** len(self._crashes_at), self.limits.delay_s_max
        )
        self._crashes_at.append(now_s)
        return delay_s

    @property
    def recent_crashes(self) -> int:
        return len(self._crashes_at)
