from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.webhooks.attempts import AttemptOutcome
from services.webhooks.delivery_rules import (
    TRIGGER_EVENT,
    TRIGGER_TEST,
    disables_endpoint,
    failure_run,
    next_state,
)
from services.webhooks.repository import FAILED, PENDING, SUCCEEDED, ClaimedDelivery
from services.webhooks.retry_schedule import parse_schedule
from services.webhooks.subscriptions import subscribes, validate_filters

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE = parse_schedule("10s,20s")


def claimed(
    position: int = 0, trigger: str = TRIGGER_EVENT, run_started_at: datetime = T0
) -> ClaimedDelivery:
    return ClaimedDelivery(
        id="dlv_1",
        tenant_id="org_1",
        endpoint_id="whe_1",
        event_id="evt_1",
        trigger=trigger,
        attempt_number=position + 1,
        schedule_position=position,
        run_started_at=run_started_at,
        claim_token="t",
        url="http://localhost/x",
        secret="whsec_AAAA",
        previous_secret=None,
        previous_secret_expires_at=None,
        endpoint_failing=False,
        event_type="transaction.completed",
        data={},
        event_created_at=T0,
    )


def outcome(status: int | None, at: datetime = T0, error: str = "") -> AttemptOutcome:
    if status is not None and not 200 <= status < 300 and not error:
        error = f"HTTP {status}"
    return AttemptOutcome(attempted_at=at, status_code=status, latency_ms=100, error=error, response_body="")


def test_a_2xx_succeeds() -> None:
    state = next_state(claimed(), outcome(204), SCHEDULE)
    assert state.update.status == SUCCEEDED and state.update.next_attempt_at is None
    assert state.update.completed_at == T0 + timedelta(milliseconds=100)


def test_failures_follow_the_schedule_then_exhaust() -> None:
    rng = random.Random(1)
    first = next_state(claimed(0), outcome(500, T0 + timedelta(seconds=1)), SCHEDULE, rng=rng)
    assert first.update.status == PENDING and first.update.schedule_position == 1
    assert first.update.run_started_at == T0 + timedelta(seconds=1)
    wait = first.update.next_attempt_at - (T0 + timedelta(seconds=1, milliseconds=100))  # type: ignore[operator]
    assert timedelta(seconds=8) <= wait <= timedelta(seconds=12)
    second = next_state(claimed(1), outcome(None, error="timed out"), SCHEDULE, rng=rng)
    assert second.update.status == PENDING and second.update.run_started_at == T0
    last = next_state(claimed(2), outcome(503), SCHEDULE, rng=rng)
    assert last.update.status == FAILED and last.exhausted


def test_a_2xx_whose_body_stalled_is_a_failure() -> None:
    stalled = outcome(200, error="timed out after 5000 ms")
    assert not stalled.succeeded
    assert next_state(claimed(), stalled, SCHEDULE).update.status == PENDING


def test_a_test_send_never_retries() -> None:
    state = next_state(claimed(trigger=TRIGGER_TEST), outcome(500), SCHEDULE)
    assert state.update.status == FAILED and not state.exhausted


def test_the_run_of_failures_restarts_after_a_success() -> None:
    seq = [outcome(500, T0), outcome(200, T0 + timedelta(seconds=1)), outcome(500, T0 + timedelta(seconds=2))]
    run = failure_run(list(reversed(seq)))
    assert (
        run.had_success and run.failures_after == 1 and run.first_failure_after == T0 + timedelta(seconds=2)
    )
    only_failures = failure_run([outcome(500, T0 + timedelta(seconds=3)), outcome(500, T0)])
    assert not only_failures.had_success and only_failures.failures_after == 2
    assert only_failures.first_failure_after == T0


def test_disabling_needs_a_whole_schedule_without_success() -> None:
    run_start = T0 + timedelta(minutes=1)
    assert disables_endpoint(T0, [run_start])
    assert disables_endpoint(run_start, [run_start])
    # A success after the delivery's first attempt: one bad event, not a dead endpoint.
    assert not disables_endpoint(run_start + timedelta(seconds=1), [run_start])
    assert not disables_endpoint(None, [run_start])


def test_subscriptions() -> None:
    assert subscribes([], "anything.at_all")
    assert subscribes(["transaction.*"], "transaction.completed")
    assert not subscribes(["transaction.*"], "transactions.completed")
    assert not subscribes(["transaction.completed"], "transaction.created")
    assert validate_filters([" transaction.* ", "transaction.*", "account.balance.updated"]) == [
        "transaction.*",
        "account.balance.updated",
    ]
