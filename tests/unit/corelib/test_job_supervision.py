"""A background job that fails is restarted in its process, with growing, capped delays;
only cancellation (the process stopping) ends its supervisor."""

from __future__ import annotations

import asyncio

import pytest

from corelib.job_supervision import JobRestartPolicy, supervise_job

QUICK = JobRestartPolicy(delay_s_initial=0.01, delay_s_max=0.04, healthy_run_s=60.0)
WAIT_S = 10.0


async def test_a_job_that_raises_or_returns_is_run_again_until_cancelled() -> None:
    runs = 0
    enough = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs >= 5:
            enough.set()
            await asyncio.sleep(3600)
        if runs % 2:
            raise ConnectionError("the database went away")
        # Returning is a failure too: a background job is meant to run for ever.

    supervisor = asyncio.create_task(supervise_job("flaky", flaky, QUICK))
    await asyncio.wait_for(enough.wait(), WAIT_S)
    assert runs == 5 and not supervisor.done()

    supervisor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await supervisor


def test_delays_grow_and_stay_within_the_cap() -> None:
    policy = JobRestartPolicy(delay_s_initial=0.1, delay_s_max=1.0)
    delays = [policy.delay_s(failures) for failures in range(1, 12)]
    assert delays[0] <= 0.1 * 1.2
    assert max(delays) <= 1.0 * 1.2
    assert delays[-1] >= 1.0 * 0.8
