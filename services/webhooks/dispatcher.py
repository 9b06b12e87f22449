"""The delivery worker of one webhooks process. Any number of processes run one each.

It claims due deliveries in batches (SKIP LOCKED, under a lease: see
repository.claim_due_deliveries), sends each as its own task, and hands outcomes to a
writer task that records them in batches.

Every endpoint has a lane here: at most ENDPOINT_CONCURRENCY_MAX requests open to it at
once, ENDPOINT_CONCURRENCY_FAILING while its last attempt failed (a dead or hanging
endpoint is probed, not flooded). A claim takes a few lanes' worth per endpoint, and an
endpoint whose lane is already well stocked is left out of the next claim. So a slow
endpoint holds a couple of request slots for at most the timeout each, and every other
endpoint and tenant keeps flowing through its own lane and the shared
DISPATCH_CONCURRENCY_MAX.

A delivery that waited so long in its lane that its lease could run out mid-attempt is
given back unattempted rather than sent: two dispatchers never send under one lease.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import unit_of_work
from services.webhooks import repository
from services.webhooks.attempts import AttemptOutcome
from services.webhooks.delivery import AttemptResult, DeliveryRecorder, attempt
from services.webhooks.repository import ClaimedDelivery
from services.webhooks.sender import WebhookSender

log = structlog.get_logger("webhooks.dispatcher")

# Requests open at once, over all endpoints.
DISPATCH_CONCURRENCY_MAX: Final = 256
ENDPOINT_CONCURRENCY_MAX: Final = 16
ENDPOINT_CONCURRENCY_FAILING: Final = 2
# A claim takes up to this many lanes' worth for one endpoint; an endpoint with this many
# lanes' worth still here is left out of the next claim.
CLAIM_LANES_PER_ENDPOINT: Final = 4
SATURATED_LANES: Final = 2
# Claimed deliveries held in this process, waiting or being sent.
CLAIMED_MAX: Final = 4096
CLAIM_BATCH_MAX: Final = 256
# An idle dispatcher looks for due work this often; a local publish wakes it at once.
IDLE_POLL_S: Final = 0.2
RESULT_BATCH_MAX: Final = 500
# Full: senders wait (back-pressure) rather than pile results up in memory.
RESULT_QUEUE_MAX: Final = 2 * DISPATCH_CONCURRENCY_MAX
CLAIM_FAILURE_DELAY_S_MAX: Final = 5.0
# The most lane rounds a claimed delivery can wait (see SATURATED_LANES and
# CLAIM_LANES_PER_ENDPOINT), plus its own attempt and a margin.
LEASE_ROUNDS: Final = SATURATED_LANES + CLAIM_LANES_PER_ENDPOINT + 2
LEASE_MARGIN_S: Final = 5.0
LEASE_S_MIN: Final = 30.0


def lease_s_for(timeout_s: float) -> float:
    return max(LEASE_S_MIN, LEASE_ROUNDS * timeout_s + LEASE_MARGIN_S)


@dataclass
class _Lane:
    """One endpoint's share of this dispatcher."""

    failing: bool
    claimed: int = 0
    active: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def concurrency(self) -> int:
        return ENDPOINT_CONCURRENCY_FAILING if self.failing else ENDPOINT_CONCURRENCY_MAX

    @property
    def saturated(self) -> bool:
        return self.claimed >= SATURATED_LANES * self.concurrency

    async def enter(self) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.active < self.concurrency)
            self.active += 1

    async def leave(self, *, succeeded: bool | None) -> None:
        async with self.changed:
            self.active -= 1
            if succeeded is not None:
                self.failing = not succeeded
            self.changed.notify_all()


@dataclass
class _Released:
    claimed: ClaimedDelivery


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        sender: WebhookSender,
        recorder: DeliveryRecorder,
        *,
        timeout_s: float,
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._recorder = recorder
        self._timeout_s = timeout_s
        self._lease_s = lease_s_for(timeout_s)
        self._wake = asyncio.Event()
        self._lanes: dict[str, _Lane] = {}
        self._sending = asyncio.Semaphore(DISPATCH_CONCURRENCY_MAX)
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: asyncio.Queue[AttemptResult | _Released] = asyncio.Queue(maxsize=RESULT_QUEUE_MAX)

    def wake(self) -> None:
        """Called when deliveries became due here (a publish, a redelivery, an enable)."""
        self._wake.set()

    async def run(self) -> None:
        writer = asyncio.create_task(self._write_results(), name="webhooks-results-writer")
        claim_failures = 0
        try:
            while True:
                try:
                    claimed, limit = await self._claim()
                    claim_failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    claim_failures += 1
                    delay = min(CLAIM_FAILURE_DELAY_S_MAX, 0.1 * 2 ** min(claim_failures, 10))
                    log.warning("webhook_claim_failed", error=repr(exc), retry_in_s=delay)
                    await asyncio.sleep(delay)
                    continue
                for delivery in claimed:
                    self._start(delivery)
                # A full claim means more is due: claim again at once if there is room.
                if limit == 0 or len(claimed) < limit:
                    await self._idle()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await self._flush_remaining()

    async def _claim(self) -> tuple[list[ClaimedDelivery], int]:
        limit = min(CLAIM_BATCH_MAX, CLAIMED_MAX - len(self._tasks))
        if limit <= 0:
            return [], 0
        saturated = [endpoint_id for endpoint_id, lane in self._lanes.items() if lane.saturated]
        async with unit_of_work(self._engine) as conn:
            claimed = await repository.claim_due_deliveries(
                conn,
                limit=limit,
                per_endpoint=CLAIM_LANES_PER_ENDPOINT * ENDPOINT_CONCURRENCY_MAX,
                per_failing_endpoint=CLAIM_LANES_PER_ENDPOINT * ENDPOINT_CONCURRENCY_FAILING,
                saturated_endpoint_ids=saturated,
                lease_s=self._lease_s,
                claim_token=secrets.token_hex(8),
            )
        return claimed, limit

    async def _idle(self) -> None:
        try:
            async with asyncio.timeout(IDLE_POLL_S):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    def _start(self, delivery: ClaimedDelivery) -> None:
        lane = self._lanes.get(delivery.endpoint_id)
        if lane is None:
            lane = self._lanes[delivery.endpoint_id] = _Lane(failing=delivery.endpoint_failing)
        lane.claimed += 1
        deadline = asyncio.get_running_loop().time() + self._lease_s
        task = asyncio.create_task(self._deliver(delivery, lane, deadline), name=f"webhook-{delivery.id}")
        self._tasks.add(task)
        task.add_done_callback(self._finished(delivery.endpoint_id, lane))

    def _finished(self, endpoint_id: str, lane: _Lane) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            was_saturated = lane.saturated
            lane.claimed -= 1
            if lane.claimed == 0 and self._lanes.get(endpoint_id) is lane:
                del self._lanes[endpoint_id]
            if was_saturated and not lane.saturated:
                # Room again for this endpoint: claim without waiting for the poll.
                self._wake.set()
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook_delivery_task_crashed", error=repr(task.exception()))

        return done

    async def _deliver(self, delivery: ClaimedDelivery, lane: _Lane, lease_deadline: float) -> None:
        latest_start = lease_deadline - self._timeout_s - LEASE_MARGIN_S
        outcome: AttemptOutcome | None = None
        await lane.enter()
        try:
            async with self._sending:
                if asyncio.get_running_loop().time() <= latest_start:
                    outcome = await attempt(self._sender, delivery)
        finally:
            await lane.leave(succeeded=None if outcome is None else outcome.succeeded)
        await self._results.put(_Released(delivery) if outcome is None else AttemptResult(delivery, outcome))

    async def _write_results(self) -> None:
        while True:
            batch = [await self._results.get()]
            while len(batch) < RESULT_BATCH_MAX and not self._results.empty():
                batch.append(self._results.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[AttemptResult | _Released]) -> None:
        results = [item for item in batch if isinstance(item, AttemptResult)]
        released = [item.claimed for item in batch if isinstance(item, _Released)]
        if released:
            log.info("webhook_claims_released", count=len(released))
        await self._recorder.record(results, released)

    async def _flush_remaining(self) -> None:
        batch: list[AttemptResult | _Released] = []
        while not self._results.empty() and len(batch) < RESULT_QUEUE_MAX:
            batch.append(self._results.get_nowait())
        if batch:
            try:
                await self._write(batch)
            except Exception as exc:
                log.warning("webhook_results_lost_on_stop", results=len(batch), error=repr(exc))
