"""The benchmark's statistics: exact nearest-rank percentiles over every sample."""

from __future__ import annotations

import pytest

from bench.stats import percentile, ratio, summarize_ms, summarize_ns


def test_percentile_is_a_sample_chosen_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_percentile_of_few_samples_rounds_the_rank_up() -> None:
    # rank = ceil(0.99 * 3) = 3: with three samples p99 is the slowest, never an interpolation.
    assert percentile([1.0, 2.0, 30.0], 99) == 30.0
    assert percentile([1.0, 2.0, 30.0], 50) == 2.0
    assert percentile([7.0], 50) == 7.0


def test_percentile_rejects_no_samples_and_bad_ranks() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], 0)
    with pytest.raises(ValueError, match="percentile"):
        percentile([1.0], 101)


def test_summary_sorts_its_samples_first() -> None:
    summary = summarize_ms([5.0, 1.0, 3.0, 2.0, 4.0])
    assert summary is not None
    assert (summary.count, summary.p50_ms, summary.p99_ms, summary.max_ms, summary.mean_ms) == (
        5,
        3.0,
        5.0,
        5.0,
        3.0,
    )


def test_nanoseconds_become_milliseconds() -> None:
    summary = summarize_ns([1_000_000, 3_000_000])
    assert summary is not None
    assert summary.p50_ms == 1.0
    assert summary.p99_ms == 3.0


def test_no_samples_is_no_summary() -> None:
    assert summarize_ms([]) is None


def test_ratio_needs_both_figures() -> None:
    assert ratio(50.0, 200.0) == 0.25
    assert ratio(None, 200.0) is None
    assert ratio(50.0, None) is None
    assert ratio(50.0, 0.0) is None
