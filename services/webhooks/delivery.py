"""Delivering one claimed delivery: its signed request, the attempt, and recording what
came of a batch of attempts in one unit of work."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.db import unit_of_work
from corelib.timestamps import to_timestamp, utc_now
from services.webhooks import repository
from services.webhooks.attempts import AttemptOutcome
from services.webhooks.delivery_rules import (
    TRIGGER_TEST,
    NextState,
    disabled_reason,
    disables_endpoint,
    failure_run,
    next_state,
    paused,
)
from services.webhooks.repository import ClaimedDelivery, NewAttempt
from services.webhooks.retry_schedule import RetrySchedule
from services.webhooks.sender import ERROR_LENGTH_MAX, WebhookSender
from services.webhooks.signing import delivery_headers

log = structlog.get_logger("webhooks.delivery")

ATTEMPTS = Counter("pe_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
ATTEMPT_LATENCY = Histogram(
    "pe_webhook_attempt_seconds",
    "Webhook delivery attempt time, connect to last byte",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ENDPOINTS_DISABLED = Counter(
    "pe_webhook_endpoints_disabled_total", "Endpoints disabled after failing a schedule"
)

RECORD_ATTEMPTS_MAX: Final = 5
RECORD_RETRY_DELAY_S: Final = 0.2


def created_at_text(moment: datetime) -> str:
    """The proto3 JSON form, so the webhook body and GET /events show the same string."""
    stamp = to_timestamp(moment)
    assert stamp is not None
    return stamp.ToJsonString()


def event_body(*, event_id: str, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The JSON integrators receive, with the guide's field names."""
    return orjson.dumps(
        {"eventId": event_id, "eventType": event_type, "createdAt": created_at_text(created_at), "data": data}
    )


def signing_secrets(claimed: ClaimedDelivery, now: datetime) -> list[str]:
    """The current secret, then the previous one while its overlap window lasts."""
    secrets = [claimed.secret]
    if (
        claimed.previous_secret
        and claimed.previous_secret_expires_at is not None
        and claimed.previous_secret_expires_at > now
    ):
        secrets.append(claimed.previous_secret)
    return secrets


def build_request(claimed: ClaimedDelivery, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = event_body(
        event_id=claimed.event_id,
        event_type=claimed.event_type,
        created_at=claimed.event_created_at,
        data=claimed.data,
    )
    headers = delivery_headers(
        body=body,
        event_id=claimed.event_id,
        event_type=claimed.event_type,
        delivery_id=claimed.id,
        attempt_number=claimed.attempt_number,
        timestamp_s=int(now.timestamp()),
        secrets_newest_first=signing_secrets(claimed, now),
    )
    return body, headers


async def attempt(sender: WebhookSender, claimed: ClaimedDelivery) -> AttemptOutcome:
    """One attempt. Never raises (but for cancellation): whatever goes wrong becomes a
    failed attempt that is recorded and retried, so no claimed delivery is left to wait
    for its lease to run out."""
    now = utc_now()
    try:
        body, headers = build_request(claimed, now)
        outcome = await sender.post(claimed.url, body, headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("webhook_attempt_crashed", delivery_id=claimed.id)
        outcome = AttemptOutcome(
            attempted_at=now,
            status_code=None,
            latency_ms=0,
            error=f"internal error: {exc!r}"[:ERROR_LENGTH_MAX],
            response_body="",
        )
    ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
    ATTEMPT_LATENCY.observe(outcome.latency_ms / 1000)
    return outcome


@dataclass(frozen=True)
class AttemptResult:
    claimed: ClaimedDelivery
    outcome: AttemptOutcome


class DeliveryRecorder:
    """Writes a batch of attempt results: delivery states, the attempt log, and each
    endpoint's run of failures (disabling it when the rule in delivery_rules says so)."""

    def __init__(
        self, engine: AsyncEngine, schedule: RetrySchedule, *, rng: random.Random | None = None
    ) -> None:
        self._engine = engine
        self._schedule = schedule
        self._rng = rng

    async def record(
        self, results: Sequence[AttemptResult], released: Sequence[ClaimedDelivery] = ()
    ) -> None:
        """Writes results, and gives back claims that were never attempted. Retries a
        failed write a few times; after that the batch is dropped and the deliveries'
        leases expire, so they are sent again (at least once)."""
        for attempt_number in range(1, RECORD_ATTEMPTS_MAX + 1):
            try:
                await self._record_once(results, released)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "webhook_results_write_failed",
                    attempt=attempt_number,
                    results=len(results),
                    error=repr(exc),
                )
                await asyncio.sleep(RECORD_RETRY_DELAY_S * attempt_number)
        log.error("webhook_results_dropped", results=len(results))

    async def _record_once(
        self, results: Sequence[AttemptResult], released: Sequence[ClaimedDelivery]
    ) -> None:
        states: dict[str, NextState] = {
            r.claimed.id: next_state(r.claimed, r.outcome, self._schedule, rng=self._rng) for r in results
        }
        by_endpoint: dict[str, list[AttemptResult]] = {}
        for result in results:
            if result.claimed.trigger != TRIGGER_TEST:
                by_endpoint.setdefault(result.claimed.endpoint_id, []).append(result)
        started = time.perf_counter()
        async with unit_of_work(self._engine) as conn:
            now = utc_now()
            disabled: set[str] = set()
            # Sorted, so that replicas lock endpoint rows in one order and never deadlock.
            for endpoint_id in sorted(by_endpoint):
                group = by_endpoint[endpoint_id]
                if await self._update_endpoint(conn, endpoint_id, group, states):
                    disabled.add(endpoint_id)
            updates = [
                paused(states[r.claimed.id].update, now)
                if states[r.claimed.id].exhausted and r.claimed.endpoint_id in disabled
                else states[r.claimed.id].update
                for r in results
            ]
            await repository.apply_delivery_updates(conn, updates)
            await repository.insert_attempts(conn, [_attempt_row(r) for r in results])
            await repository.release_claims(conn, [(c.id, c.claim_token) for c in released])
        log.debug(
            "webhook_results_written", results=len(results), ms=round((time.perf_counter() - started) * 1000)
        )

    async def _update_endpoint(
        self,
        conn: AsyncConnection,
        endpoint_id: str,
        group: list[AttemptResult],
        states: dict[str, NextState],
    ) -> bool:
        """Applies the group's outcomes to the endpoint; True when it is (now) disabled."""
        run = failure_run([r.outcome for r in group])
        if run.had_success:
            await repository.record_endpoint_successes(
                conn,
                endpoint_id,
                failures_after=run.failures_after,
                first_failure_after=run.first_failure_after,
            )
            failures, failing_since = run.failures_after, run.first_failure_after
        else:
            assert run.first_failure_after is not None
            recorded = await repository.record_endpoint_failures(
                conn, endpoint_id, failures=run.failures_after, first_failure_at=run.first_failure_after
            )
            if recorded is None:
                return False
            failures, failing_since = recorded
        exhausted_starts = [
            states[r.claimed.id].update.run_started_at for r in group if states[r.claimed.id].exhausted
        ]
        if not exhausted_starts or not disables_endpoint(failing_since, exhausted_starts):
            return False
        assert failing_since is not None
        last_error = max(group, key=lambda r: r.outcome.attempted_at).outcome.error
        if await repository.disable_endpoint(
            conn, endpoint_id, disabled_reason(failures, failing_since, last_error)
        ):
            ENDPOINTS_DISABLED.inc()
            log.warning(
                "webhook_endpoint_disabled",
                endpoint_id=endpoint_id,
                consecutive_failures=failures,
                last_error=last_error,
            )
        return True


def _attempt_row(result: AttemptResult) -> NewAttempt:
    outcome = result.outcome
    return NewAttempt(
        delivery_id=result.claimed.id,
        endpoint_id=result.claimed.endpoint_id,
        tenant_id=result.claimed.tenant_id,
        attempt_number=result.claimed.attempt_number,
        attempted_at=outcome.attempted_at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_body=outcome.response_body,
        succeeded=outcome.succeeded,
    )
