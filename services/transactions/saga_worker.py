"""Moves every held payment along its rail and resumes any payment left mid-way.

One loop serves both jobs: a payment carries `next_attempt_at`, the time its next
step is due, and a worker claims due payments with `FOR UPDATE SKIP LOCKED`, pushing
`next_attempt_at` past a lease. A worker that dies mid-step simply lets the lease run
out and another replica repeats the step; every ledger call is idempotent by
transaction id, so a repeat never moves money twice.

Steps (the saga_step recorded before and after each ledger call):
  hold_requested  a create that never finished: ask the ledger whether the hold exists
  held            due on its rail: ACH joins a batch at its window; RTP and wire go on
  post_requested  PostHold → COMPLETED (a refused post turns into a void)
  void_requested  VoidHold → FAILED or CANCELED
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from payment_engine_protos.accounts.v1 import accounts_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.timestamps import utc_now
from services.transactions import lifecycle, payment_types, repository
from services.transactions.ledger_client import LedgerClient, LedgerUnavailable
from services.transactions.payments import CREATE_LEASE, RailTiming, Render, mark_held
from services.transactions.repository import TransactionRow
from services.transactions.sandbox_triggers import failure_for
from services.transactions.transaction_events import EVENT_BY_FINAL_STATUS, record_transaction_event

log = structlog.get_logger("transactions.saga")

CLAIM_BATCH_MAX: Final = 64
CONCURRENT_STEPS_MAX: Final = 32
STEP_LEASE: Final = timedelta(seconds=15)
IDLE_POLL_S: Final = 0.2
RETRY_DELAY_MIN: Final = timedelta(milliseconds=200)
RETRY_DELAY_MAX: Final = timedelta(seconds=30)
# After this many attempts a payment is parked for an operator (about three days at
# the maximum delay); every other path ends in a final state long before.
ATTEMPTS_MAX: Final = 10_000
IDEMPOTENCY_PURGE_BATCH_MAX: Final = 500


def retry_at(now: datetime, attempts: int) -> datetime:
    delay: timedelta = min(RETRY_DELAY_MIN * (2 ** min(attempts, 16)), RETRY_DELAY_MAX)
    return now + delay


class SagaWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        ledger: LedgerClient,
        timing: RailTiming,
        render: Render,
        *,
        sandbox: bool,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._timing = timing
        self._render = render
        self._sandbox = sandbox
        self._wake = asyncio.Event()
        self._steps = asyncio.Semaphore(CONCURRENT_STEPS_MAX)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            claimed = await self.run_once()
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL_S)
                self._wake.clear()

    async def run_once(self) -> int:
        """Claims one batch of due payments and advances each by one step or more."""
        async with unit_of_work(self._engine) as conn:
            claimed = await repository.claim_due(conn, now=utc_now(), lease=STEP_LEASE, limit=CLAIM_BATCH_MAX)
        if claimed:
            await asyncio.gather(*(self._advance_guarded(txn) for txn in claimed))
        return len(claimed)

    async def purge_idempotency_keys(self) -> int:
        async with unit_of_work(self._engine) as conn:
            return await repository.purge_expired_idempotency_keys(
                conn, utc_now(), IDEMPOTENCY_PURGE_BATCH_MAX
            )

    async def _advance_guarded(self, txn: TransactionRow) -> None:
        async with self._steps:
            structlog.contextvars.bind_contextvars(transaction_id=txn.id)
            try:
                await self._advance(txn)
            except LedgerUnavailable as exc:
                log.warning("ledger_unavailable", error=str(exc), attempts=txn.attempts)
                await self._retry_later(txn)
            except Exception:
                log.exception("saga_step_crashed", step=txn.saga_step)
                await self._retry_later(txn)
            finally:
                structlog.contextvars.unbind_contextvars("transaction_id")

    async def _retry_later(self, txn: TransactionRow) -> None:
        next_at: datetime | None = retry_at(utc_now(), txn.attempts)
        if txn.attempts >= ATTEMPTS_MAX:
            log.error("saga_parked", step=txn.saga_step, attempts=txn.attempts)
            next_at = None
        async with unit_of_work(self._engine) as conn:
            await repository.update_transaction(conn, txn.id, {"next_attempt_at": next_at})

    async def _advance(self, txn: TransactionRow) -> None:
        # A payment can take several steps in one go (RTP: held → post → completed).
        for _ in range(4):
            step = txn.saga_step
            if step == lifecycle.HOLD_REQUESTED:
                next_txn = await self._resolve_unfinished_create(txn)
            elif step == lifecycle.HELD:
                next_txn = await self._rail_step(txn)
            elif step == lifecycle.POST_REQUESTED:
                next_txn = await self._post(txn)
            elif step == lifecycle.VOID_REQUESTED:
                next_txn = await self._void(txn)
            else:
                await self._update(txn, {"next_attempt_at": None})
                return
            if next_txn is None:
                return
            txn = next_txn

    async def _update(self, txn: TransactionRow, values: dict[str, Any]) -> TransactionRow:
        status = values.get("status")
        if isinstance(status, str):
            lifecycle.assert_transition(txn.status, status)
        async with unit_of_work(self._engine) as conn:
            return await repository.update_transaction(conn, txn.id, values)

    async def _resolve_unfinished_create(self, txn: TransactionRow) -> TransactionRow | None:
        if utc_now() - txn.created_at < CREATE_LEASE:
            await self._update(txn, {"next_attempt_at": txn.created_at + CREATE_LEASE})
            return None
        hold = await self._ledger.find_hold(txn.id)
        async with unit_of_work(self._engine) as conn:
            current = await repository.get_transaction(conn, txn.id, for_update=True)
            assert current is not None
            if current.saga_step != lifecycle.HOLD_REQUESTED:
                return None
            if hold is None or hold.status == accounts_pb2.HOLD_STATUS_VOIDED:
                # The create never took effect; its Idempotency-Key is freed so a retry runs anew.
                await repository.update_transaction(
                    conn,
                    txn.id,
                    {
                        "status": lifecycle.REJECTED,
                        "saga_step": lifecycle.NO_HOLD,
                        "failure_reason": "Interrupted before funds were held",
                        "next_attempt_at": None,
                    },
                )
                await repository.forget_idempotency_key_of(conn, txn.id)
                log.info("unfinished_create_rejected")
                return None
            held = await mark_held(
                conn, current, payment_types.resolve(current.payment_type), self._timing, self._render
            )
            log.info("unfinished_create_resumed")
        return held if held.next_attempt_at is not None and held.next_attempt_at <= utc_now() else None

    async def _rail_step(self, txn: TransactionRow) -> TransactionRow | None:
        rail = payment_types.resolve(txn.payment_type)
        if rail.is_batch and txn.batch_id is None:
            # Due at its window's close: the payment joins that window's batch and is
            # PROCESSING while the batch is out, until the batch settles.
            settles_at = txn.expected_settlement_at
            assert settles_at is not None
            closes = settles_at - self._timing.calendar.settlement_delay
            batch_id = f"bat_{int(closes.timestamp())}"
            async with unit_of_work(self._engine) as conn:
                await repository.add_to_batch(conn, batch_id, closes, settles_at)
                lifecycle.assert_transition(txn.status, lifecycle.PROCESSING)
                batched = await repository.update_transaction(
                    conn,
                    txn.id,
                    {"status": lifecycle.PROCESSING, "batch_id": batch_id, "next_attempt_at": settles_at},
                )
            return batched if settles_at <= utc_now() else None
        failure = failure_for(rail.id, txn.amount_minor, sandbox=self._sandbox)
        if failure is not None:
            return await self._update(
                txn,
                {
                    "status": lifecycle.PROCESSING,
                    "saga_step": lifecycle.VOID_REQUESTED,
                    "void_outcome": lifecycle.FAILED,
                    "failure_reason": failure,
                },
            )
        return await self._update(
            txn, {"status": lifecycle.PROCESSING, "saga_step": lifecycle.POST_REQUESTED}
        )

    async def _post(self, txn: TransactionRow) -> TransactionRow | None:
        try:
            await self._ledger.post_hold(txn.id, txn.to_account_id, txn.description)
        except ServiceError as refusal:
            log.info("post_refused", reason=refusal.reason)
            return await self._update(
                txn,
                {
                    "saga_step": lifecycle.VOID_REQUESTED,
                    "void_outcome": lifecycle.FAILED,
                    "failure_reason": refusal.message,
                },
            )
        await self._finish(txn, lifecycle.COMPLETED, lifecycle.POSTED)
        return None

    async def _void(self, txn: TransactionRow) -> TransactionRow | None:
        outcome = txn.void_outcome or lifecycle.FAILED
        try:
            await self._ledger.void_hold(txn.id, txn.failure_reason)
        except ServiceError as refusal:
            hold = await self._ledger.find_hold(txn.id)
            if hold is not None and hold.status == accounts_pb2.HOLD_STATUS_POSTED:
                # The ledger moved the money; it is the source of truth.
                log.error("void_found_hold_posted", reason=refusal.reason)
                await self._finish(txn, lifecycle.COMPLETED, lifecycle.POSTED, failure_reason="")
                return None
            raise
        await self._finish(txn, outcome, lifecycle.VOIDED)
        return None

    async def _finish(
        self, txn: TransactionRow, status: str, step: str, *, failure_reason: str | None = None
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "saga_step": step,
            "next_attempt_at": None,
            "completed_at": utc_now(),
        }
        if failure_reason is not None:
            values["failure_reason"] = failure_reason
        async with unit_of_work(self._engine) as conn:
            current = await repository.get_transaction(conn, txn.id, for_update=True)
            assert current is not None
            if current.status in lifecycle.FINAL_STATUSES:
                return
            lifecycle.assert_transition(current.status, status)
            finished = await repository.update_transaction(conn, txn.id, values)
            await record_transaction_event(conn, EVENT_BY_FINAL_STATUS[status], finished)
