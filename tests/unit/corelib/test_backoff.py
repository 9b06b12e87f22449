"""The shared retry delay: from the first delay, doubling, capped, jittered by ±20%."""

from __future__ import annotations

import pytest

from corelib.backoff import JITTER_FRACTION, backoff_delay_s


@pytest.mark.parametrize(
    ("failures", "expected_s"),
    [(0, 0.2), (1, 0.2), (2, 0.4), (3, 0.8), (6, 5.0), (10, 5.0), (10_000, 5.0)],
)
def test_doubles_from_the_first_delay_up_to_the_cap(failures: int, expected_s: float) -> None:
    delays = [backoff_delay_s(failures, first_s=0.2, max_s=5.0) for _ in range(200)]
    assert min(delays) >= expected_s * (1 - JITTER_FRACTION)
    assert max(delays) <= expected_s * (1 + JITTER_FRACTION)
    # Jittered: replicas that failed together do not retry together.
    assert len(set(delays)) > 1
