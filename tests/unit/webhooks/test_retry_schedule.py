from __future__ import annotations

import random

import pytest

from services.webhooks.retry_schedule import JITTER_FRACTION, parse_schedule


def test_the_default_schedule_spans_about_three_days() -> None:
    schedule = parse_schedule("")
    assert schedule.attempts_max == 13
    assert 2.5 * 86400 < schedule.span_s < 3.2 * 86400
    # Each wait at least as long as the one before: backoff, never a tight loop.
    assert list(schedule.delays_s) == sorted(schedule.delays_s)


def test_delays_are_jittered_within_bounds_and_end() -> None:
    schedule = parse_schedule("10s,1m")
    rng = random.Random(7)
    delays = [schedule.delay_after_failure_s(1, rng) for _ in range(200)]
    assert all(10 * (1 - JITTER_FRACTION) <= d <= 10 * (1 + JITTER_FRACTION) for d in delays if d is not None)
    assert len({round(d or 0, 3) for d in delays}) > 100
    assert schedule.delay_after_failure_s(2, rng) is not None
    assert schedule.delay_after_failure_s(3, rng) is None


def test_compressed_schedules_parse() -> None:
    assert parse_schedule("100ms, 0.5s,2m,1h,1d").delays_s == (0.1, 0.5, 120.0, 3600.0, 86400.0)


@pytest.mark.parametrize("text", ["5x", "-1s", "0s", "8d", "s", ",".join(["1s"] * 31)])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)
