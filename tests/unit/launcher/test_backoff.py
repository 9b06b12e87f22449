from __future__ import annotations

from launcher.backoff import RestartBudget, RestartDecision, RestartLimits

LIMITS = RestartLimits(
    restarts_max=5, window_s=60.0, delay_s_initial=0.25, delay_s_max=2.0, exhausted_delay_s=30.0
)


def test_delay_doubles_per_recent_crash_up_to_the_cap() -> None:
    budget = RestartBudget(LIMITS)
    delays = [budget.after_crash(now_s=float(i)).delay_s for i in range(5)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_a_spent_budget_slows_restarts_down_but_never_stops_them() -> None:
    budget = RestartBudget(LIMITS)
    for i in range(5):
        assert not budget.after_crash(now_s=float(i)).budget_spent
    for now_s in (10.0, 20.0, 30.0, 40.0):
        assert budget.after_crash(now_s) == RestartDecision(delay_s=30.0, budget_spent=True)


def test_crashes_older_than_the_window_are_forgiven() -> None:
    budget = RestartBudget(LIMITS)
    for i in range(5):
        budget.after_crash(now_s=float(i))
    # Well past the window: the process ran fine for a while, so it starts afresh.
    assert budget.after_crash(now_s=200.0) == RestartDecision(delay_s=0.25, budget_spent=False)
    assert budget.recent_crashes == 1


def test_the_window_slides() -> None:
    budget = RestartBudget(LIMITS)
    for now_s in (0.0, 10.0, 20.0, 30.0, 40.0):
        budget.after_crash(now_s)
    # At 65 s the crash at 0 s has left the window: four recent crashes, so one more is allowed.
    assert not budget.after_crash(65.0).budget_spent
    assert budget.after_crash(66.0).budget_spent
