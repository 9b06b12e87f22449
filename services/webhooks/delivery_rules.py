"""The rules of delivery, without I/O: what an attempt's outcome does to its delivery,
to its endpoint's run of failures, and when an endpoint is disabled.

Disabling: an endpoint is disabled when one of its deliveries has failed every attempt
of the retry schedule (about three days by default) and the endpoint has not answered
any delivery with a 2xx since that delivery's first attempt — so a receiver that rejects
one malformed event is not disabled, and one that has been dead for the whole schedule
is. Its undelivered deliveries, including that one, wait; enabling the endpoint sends
them again with a fresh schedule.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.webhooks.attempts import AttemptOutcome
from services.webhooks.repository import (
    FAILED,
    PENDING,
    SUCCEEDED,
    ClaimedDelivery,
    DeliveryUpdate,
)
from services.webhooks.retry_schedule import RetrySchedule

TRIGGER_EVENT = "event"
TRIGGER_REDELIVERY = "redelivery"
TRIGGER_TEST = "test"


@dataclass(frozen=True)
class NextState:
    update: DeliveryUpdate
    # Every attempt of the schedule failed: the delivery ends as failed unless its
    # endpoint is disabled by this very failure (then it waits instead).
    exhausted: bool


def next_state(
    claimed: ClaimedDelivery,
    outcome: AttemptOutcome,
    schedule: RetrySchedule,
    *,
    rng: random.Random | None = None,
) -> NextState:
    finished_at = outcome.attempted_at + timedelta(milliseconds=outcome.latency_ms)
    run_started_at = outcome.attempted_at if claimed.schedule_position == 0 else claimed.run_started_at
    if outcome.succeeded:
        return NextState(
            DeliveryUpdate(
                id=claimed.id,
                claim_token=claimed.claim_token,
                status=SUCCEEDED,
                next_attempt_at=None,
                schedule_position=claimed.schedule_position,
                run_started_at=run_started_at,
                completed_at=finished_at,
            ),
            exhausted=False,
        )
    position = claimed.schedule_position + 1
    delay_s = None if claimed.trigger == TRIGGER_TEST else schedule.delay_after_failure_s(position, rng)
    if delay_s is None:
        return NextState(
            DeliveryUpdate(
                id=claimed.id,
                claim_token=claimed.claim_token,
                status=FAILED,
                next_attempt_at=None,
                schedule_position=position,
                run_started_at=run_started_at,
                completed_at=finished_at,
            ),
            exhausted=claimed.trigger != TRIGGER_TEST,
        )
    return NextState(
        DeliveryUpdate(
            id=claimed.id,
            claim_token=claimed.claim_token,
            status=PENDING,
            next_attempt_at=finished_at + timedelta(seconds=delay_s),
            schedule_position=position,
            run_started_at=run_started_at,
            completed_at=None,
        ),
        exhausted=False,
    )


def paused(update: DeliveryUpdate, now: datetime) -> DeliveryUpdate:
    """The exhausted delivery of an endpoint just disabled: it waits for re-enabling."""
    return DeliveryUpdate(
        id=update.id,
        claim_token=update.claim_token,
        status=PENDING,
        next_attempt_at=now,
        schedule_position=update.schedule_position,
        run_started_at=update.run_started_at,
        completed_at=None,
    )


@dataclass(frozen=True)
class FailureRun:
    """What a batch of outcomes (oldest first) does to an endpoint's run of failures."""

    had_success: bool
    # Failures after the batch's last success (all of them when none succeeded).
    failures_after: int
    first_failure_after: datetime | None


def failure_run(outcomes: Sequence[AttemptOutcome]) -> FailureRun:
    had_success = False
    failures_after = 0
    first_failure_after: datetime | None = None
    for outcome in sorted(outcomes, key=lambda o: o.attempted_at):
        if outcome.succeeded:
            had_success = True
            failures_after = 0
            first_failure_after = None
        else:
            failures_after += 1
            if first_failure_after is None:
                first_failure_after = outcome.attempted_at
    return FailureRun(had_success, failures_after, first_failure_after)


def disables_endpoint(failing_since: datetime | None, exhausted_run_starts: Sequence[datetime]) -> bool:
    return failing_since is not None and any(failing_since <= start for start in exhausted_run_starts)


def disabled_reason(consecutive_failures: int, failing_since: datetime, last_error: str) -> str:
    return (
        f"Disabled after {consecutive_failures} consecutive failed attempts since "
        f"{failing_since.isoformat(timespec='seconds')}: a delivery failed every attempt of its "
        f"retry schedule. Last error: {last_error or 'unknown'}. Enable the endpoint to resume delivery."
    )
