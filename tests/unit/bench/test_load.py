"""The load drivers count only the measured phase and never raise an operation's error."""

from __future__ import annotations

import asyncio

from bench.load import OpFailed, Phases, run_closed, run_paced

SHORT = Phases(warmup_s=0.05, duration_s=0.2)


async def test_closed_loop_counts_measured_operations_and_errors() -> None:
    seen: list[bool] = []

    async def operation(_client: str, number: int, measured: bool) -> None:
        seen.append(measured)
        await asyncio.sleep(0.005)
        if number % 5 == 0:
            raise OpFailed("HTTP 500 INTERNAL")

    result = await run_closed(["a", "b"], operation, SHORT)
    assert False in seen and True in seen  # warm-up first, then measured
    assert result.ops + result.errors == seen.count(True)
    assert result.errors > 0
    assert set(result.error_reasons) == {"HTTP 500 INTERNAL"}
    assert 0 < result.completed_in_phase <= result.ops + 2  # plus those started in the warm-up
    assert result.ops_per_s == result.completed_in_phase / result.duration_s
    assert all(latency > 0 for latency in result.latencies_ns)


async def test_paced_run_sends_at_the_rate_on_a_bounded_number_of_clients() -> None:
    in_flight = 0
    most_in_flight = 0

    async def operation(_client: int, _number: int, _measured: bool) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1

    result = await run_paced([1, 2], operation, SHORT, rate_per_s=100)
    assert most_in_flight <= 2
    # 0.25 s at 100/s is 25 operations, 20 of them due after the warm-up.
    assert result.ops + result.errors == 20
    assert result.offered_rate_per_s == 100
