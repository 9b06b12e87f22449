"""When to restart a crashed process.

A process that crashes once is restarted quickly; one that keeps crashing waits longer
each time. One that crashes more than `restarts_max` times within the window has spent
its budget: it is reported as failing and from then on retried only every
`exhausted_delay_s` — slowly, but for ever. The budget is one process's own: spending it
never stops the database or the other processes (a PostgreSQL restart makes every
service stumble at once; the engine must come back by itself, not be shut down).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

RESTARTS_MAX: Final = 5
RESTART_WINDOW_S: Final = 60.0
RESTART_DELAY_S_INITIAL: Final = 0.25
RESTART_DELAY_S_MAX: Final = 8.0
# The slow pace at which a process that spent its budget is still retried.
EXHAUSTED_RESTART_DELAY_S: Final = 30.0


@dataclass(frozen=True)
class RestartLimits:
    restarts_max: int = RESTARTS_MAX
    window_s: float = RESTART_WINDOW_S
    delay_s_initial: float = RESTART_DELAY_S_INITIAL
    delay_s_max: float = RESTART_DELAY_S_MAX
    exhausted_delay_s: float = EXHAUSTED_RESTART_DELAY_S


@dataclass(frozen=True)
class RestartDecision:
    delay_s: float
    # True when the process crashed more than restarts_max times within the window.
    budget_spent: bool


class RestartBudget:
    """Crash history of one process within the sliding window."""

    def __init__(self, limits: RestartLimits) -> None:
        self.limits = limits
        self._crashes_at: deque[float] = deque(maxlen=limits.restarts_max + 1)

    def after_crash(self, now_s: float) -> RestartDecision:
        """Records a crash at `now_s` (monotonic); says when to restart."""
        while self._crashes_at and now_s - self._crashes_at[0] > self.limits.window_s:
            self._crashes_at.popleft()
        if len(self._crashes_at) >= self.limits.restarts_max:
            self._crashes_at.append(now_s)
            return RestartDecision(delay_s=self.limits.exhausted_delay_s, budget_spent=True)
        delay_s: float = min(
            self.limits.delay_s_initial * 2.0 ** len(self._crashes_at), self.limits.delay_s_max
        )
        self._crashes_at.append(now_s)
        return RestartDecision(delay_s=delay_s, budget_spent=False)

    @property
    def recent_crashes(self) -> int:
        return len(self._crashes_at)
