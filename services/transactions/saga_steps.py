"""The saga's ledger steps for many payments at once: post the holds of payments at
`post_requested`, void those at `void_requested`, and record each final state with its
event.

Both the create path (a real-time payment is posted the moment it is held, without
waiting for the worker) and the saga worker (rails, windows, recovery) call these.
Every write is conditional on the step the payment was read at (compare-and-set): a
caller holding a stale row loses the race instead of overwriting a newer state, and the
loser simply leaves the payment to whoever won. A ledger call whose outcome is unknown
leaves the payment at its step with a retry time; every ledger step is idempotent by
transaction id, so repeating it never moves money twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import structlog
from payment_engine_protos.accounts.v1 import accounts_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.batching import Batcher, QueueFull
from corelib.db import unit_of_work
from corelib.errors import ServiceError
from corelib.outbox import NewEvent, record_events
from corelib.timestamps import utc_now
from services.transactions import lifecycle, repository
from services.transactions.ledger_client import LedgerClient
from services.transactions.repository import StepMove, TransactionRow
from services.transactions.schema import outbox
from services.transactions.transaction_events import EVENT_BY_FINAL_STATUS, transaction_events

log = structlog.get_logger("transactions.saga")

RETRY_DELAY_MIN: Final = timedelta(milliseconds=200)
RETRY_DELAY_MAX: Final = timedelta(seconds=30)
# A post that keeps failing without an answer from the ledger ends the payment (its
# funds released) after this many attempts, rather than retrying for days.
POST_ATTEMPTS_MAX: Final = 8
STUCK_POST_REASON: Final = "The payment could not be completed; the funds were released"
# Payments handed on by the create path: at most 500 per ledger call, one call in
# flight, 20,000 waiting (beyond that they are left to the worker, which finds them
# once their lease runs out).
FAST_TRACK_BOUNDS: Final = {"batch_size_max": 500, "queued_max": 20_000, "flushes_max": 1}


def retry_at(now: datetime, attempts: int) -> datetime:
    delay: timedelta = min(RETRY_DELAY_MIN * (2 ** min(attempts, 16)), RETRY_DELAY_MAX)
    return now + delay


def same_step(txn: TransactionRow, next_attempt_at: datetime | None) -> StepMove:
    """Leaves the payment at its step, due again at `next_attempt_at` (never, if None)."""
    return StepMove(
        id=txn.id,
        expected_step=txn.saga_step,
        status=txn.status,
        saga_step=txn.saga_step,
        void_outcome=txn.void_outcome,
        failure_reason=txn.failure_reason,
        next_attempt_at=next_attempt_at,
    )


def _unchanged_later(txn: TransactionRow, now: datetime) -> StepMove:
    """Leaves the payment at its step, due again after a backoff."""
    return same_step(txn, retry_at(now, txn.attempts))


def _to_void(txn: TransactionRow, outcome: str, reason: str) -> StepMove:
    lifecycle.assert_transition(txn.status, txn.status)
    return StepMove(
        id=txn.id,
        expected_step=txn.saga_step,
        status=txn.status,
        saga_step=lifecycle.VOID_REQUESTED,
        void_outcome=outcome,
        failure_reason=reason,
        next_attempt_at=utc_now(),
    )


def _final(txn: TransactionRow, status: str, step: str, *, failure_reason: str | None = None) -> StepMove:
    lifecycle.assert_transition(txn.status, status)
    return StepMove(
        id=txn.id,
        expected_step=txn.saga_step,
        status=status,
        saga_step=step,
        void_outcome=txn.void_outcome,
        failure_reason=txn.failure_reason if failure_reason is None else failure_reason,
        next_attempt_at=None,
    )


class SagaSteps:
    def __init__(self, engine: AsyncEngine, ledger: LedgerClient) -> None:
        self._engine = engine
        self._ledger = ledger
        self._fast_track: Batcher[TransactionRow, None] = Batcher(
            self._advance_fast_tracked, name="fast_track", **FAST_TRACK_BOUNDS
        )

    def hand_on(self, txns: Sequence[TransactionRow]) -> None:
        """Advances payments just written at `post_requested`/`void_requested` without
        waiting for the worker; the caller does not wait. If this process dies first, the
        worker finds them when their lease runs out."""
        if not txns:
            return
        try:
            futures = self._fast_track.submit_many(list(txns))
        except QueueFull:
            log.warning("fast_track_full", payments=len(txns))
            return
        for future in futures:
            future.add_done_callback(_log_failure)

    async def _advance_fast_tracked(self, txns: Sequence[TransactionRow]) -> list[None]:
        await self.advance(txns)
        return [None for _ in txns]

    async def advance(self, txns: Sequence[TransactionRow]) -> None:
        """Posts or voids each payment by its step; others are left alone."""
        posting = [t for t in txns if t.saga_step == lifecycle.POST_REQUESTED]
        voiding = [t for t in txns if t.saga_step == lifecycle.VOID_REQUESTED]
        if posting:
            voiding += await self._post(posting)
        if voiding:
            await self._void(voiding)

    async def _post(self, txns: list[TransactionRow]) -> list[TransactionRow]:
        """Posts; returns the payments whose post was refused, now at `void_requested`."""
        outcomes = await self._ledger.post_holds(
            [
                accounts_pb2.PostHoldRequest(
                    hold_id=txn.id, payee_account_id=txn.to_account_id, description=txn.description
                )
                for txn in txns
            ]
        )
        now = utc_now()
        moves: list[StepMove] = []
        for txn, outcome in zip(txns, outcomes, strict=True):
            if isinstance(outcome, accounts_pb2.Hold):
                moves.append(_final(txn, lifecycle.COMPLETED, lifecycle.POSTED))
            elif isinstance(outcome, ServiceError):
                log.info("post_refused", transaction_id=txn.id, reason=outcome.reason)
                moves.append(_to_void(txn, lifecycle.FAILED, outcome.message))
            elif txn.attempts >= POST_ATTEMPTS_MAX:
                log.error("post_abandoned", transaction_id=txn.id, attempts=txn.attempts, error=repr(outcome))
                moves.append(_to_void(txn, lifecycle.FAILED, STUCK_POST_REASON))
            else:
                log.warning("post_outcome_unknown", transaction_id=txn.id, error=repr(outcome))
                moves.append(_unchanged_later(txn, now))
        moved = await self._write(moves)
        return [row for row in moved if row.saga_step == lifecycle.VOID_REQUESTED]

    async def _void(self, txns: list[TransactionRow]) -> None:
        outcomes = await self._ledger.void_holds(
            [accounts_pb2.VoidHoldRequest(hold_id=txn.id, reason=txn.failure_reason) for txn in txns]
        )
        now = utc_now()
        moves: list[StepMove] = []
        for txn, outcome in zip(txns, outcomes, strict=True):
            if isinstance(outcome, accounts_pb2.Hold):
                moves.append(_final(txn, txn.void_outcome or lifecycle.FAILED, lifecycle.VOIDED))
                continue
            if isinstance(outcome, ServiceError):
                hold = await self._ledger.find_hold(txn.id)
                if hold is not None and hold.status == accounts_pb2.HOLD_STATUS_POSTED:
                    # The ledger moved the money; it is the source of truth.
                    log.error("void_found_hold_posted", transaction_id=txn.id, reason=outcome.reason)
                    moves.append(_final(txn, lifecycle.COMPLETED, lifecycle.POSTED, failure_reason=""))
                    continue
            log.warning("void_outcome_unknown", transaction_id=txn.id, error=repr(outcome))
            moves.append(_unchanged_later(txn, now))
        await self._write(moves)

    async def _write(self, moves: list[StepMove]) -> list[TransactionRow]:
        """Applies the moves that still find their payment at the step they were read at,
        with the final events of those that finished; returns the rows that moved."""
        async with unit_of_work(self._engine) as conn:
            moved = await repository.move_steps(conn, moves)
            events: list[NewEvent] = []
            for row in moved.values():
                event_type = EVENT_BY_FINAL_STATUS.get(row.status)
                if event_type is not None and row.next_attempt_at is None:
                    events.extend(transaction_events(event_type, row))
            await record_events(conn, outbox, events)
        lost = len(moves) - len(moved)
        if lost:
            log.info("saga_step_lost_race", payments=lost)
        return list(moved.values())


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("fast_track_failed", error=repr(future.exception()))
