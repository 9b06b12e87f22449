from __future__ import annotations

from launcher.backoff import RestartBudget, RestartLimits

LIMITS = RestartLimits(restarts_max=5, window_s=60.0, delay_s_initial=0.25, delay_s_max=2.0)


def test_delay_doubles_per_recent_crash_up_to_the_cap() -> None:
    budget = RestartBudget(LIMITS)
    delays = [budget.delay_after_crash(now_s=float(i)) for i in range(5)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_gives_up_when_crashes_exceed_the_budget_within_the_window() -> None:
    budget = RestartBudget(LIMITS)
    for i in range(5):
        assert budget.delay_after_crash(now_s=float(i)) is not None
    assert budget.delay_after_crash(now_s=10.0) is None


def test_crashes_older_than_the_window_are_forgiven() -> None:
    budget = RestartBudget(LIMITS)
    for i in range(5):
        budget.delay_after_crash(now_s=float(i))
    # Well past the window: the process ran fine for a while, so it starts afresh.
    assert budget.delay_after_crash(now_s=200.0) == 0.25
    assert budget.recent_crashes == 1


def test_the_window_slides() -> None:
    budget = RestartBudget(LIMITS)
    for now_s in (0.0, 10.0, 20.0, 30.0, 40.0):
        budget.delay_after_crash(now_s)
    # At 65 s the crash at 0 s has left the window: four recent crashes, so one more is allowed.
    assert budget.delay_after_crash(65.0) is not None
    assert budget.delay_after_crash(66.0) is None
