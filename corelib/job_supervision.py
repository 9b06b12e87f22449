"""Background jobs that outlive their failures.

A service's background jobs (the saga worker, outbox relays, the webhook dispatcher,
purges) are loops that touch PostgreSQL. When the database restarts, every one of them
fails at once; the process must not end with them — its gRPC server still answers, and
the jobs can carry on as soon as the database is back. So each job runs under a
supervisor that restarts it, in the same process, after a bounded, growing delay. A job
that ran for a while before failing starts again from the shortest delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

import structlog

from corelib.backoff import backoff_delay_s

log = structlog.get_logger("corelib.jobs")

RESTART_DELAY_S_INITIAL: Final = 0.2
RESTART_DELAY_S_MAX: Final = 10.0
# A job that ran this long before failing was healthy: its next restart is quick again.
HEALTHY_RUN_S: Final = 60.0

Job = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class JobRestartPolicy:
    delay_s_initial: float = RESTART_DELAY_S_INITIAL
    delay_s_max: float = RESTART_DELAY_S_MAX
    healthy_run_s: float = HEALTHY_RUN_S

    def delay_s(self, consecutive_failures: int) -> float:
        return backoff_delay_s(consecutive_failures, first_s=self.delay_s_initial, max_s=self.delay_s_max)


async def supervise_job(name: str, job: Job, policy: JobRestartPolicy | None = None) -> None:
    """Runs `job` until cancelled, restarting it whenever it raises or returns. Only
    cancellation (the process stopping) ends it."""
    rules = policy or JobRestartPolicy()
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        started = loop.time()
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = repr(exc)
        else:
            outcome = "returned"
        failures = 1 if loop.time() - started >= rules.healthy_run_s else failures + 1
        delay = rules.delay_s(failures)
        log.warning(
            "background_job_restarting",
            job=name,
            outcome=outcome,
            consecutive_failures=failures,
            retry_in_s=round(delay, 2),
        )
        await asyncio.sleep(delay)
