"""Moves every held payment along its rail and resumes any payment left mid-way.

One loop serves both jobs: a payment carries `next_attempt_at`, the time its next step
is due (or the end of the lease of whoever holds it), and a worker claims due payments
with `FOR UPDATE SKIP LOCKED`, pushing `next_attempt_at` past a lease. A worker that
dies mid-step simply lets the lease run out and another replica repeats the step; every
ledger call is idempotent by transaction id, so a repeat never moves money twice, and
every write is conditional on the step it read (SagaSteps), so a worker holding a stale
row — a payment canceled meanwhile — loses instead of overwriting.

Steps (the saga_step recorded before and after each ledger call):
  hold_requested  a create that never finished: ask the ledger whether the hold exists
  held            due on its rail: ACH joins a batch at its window; RTP and wire go on
  post_requested  PostHold → COMPLETED (a refused post turns into a void)
  void_requested  VoidHold → FAILED or CANCELED
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

import structlog
from payment_engine_protos.accounts.v1 import accounts_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import unit_of_work
from corelib.direct_sql import DirectPool
from corelib.outbox import NewEvent
from corelib.timestamps import utc_now
from services.transactions import lifecycle, payment_types, repository
from services.transactions.ledger_client import LedgerClient, LedgerUnavailable
from services.transactions.payments import CREATE_LEASE, RailTiming, Render, held_move
from services.transactions.repository import KeyAnswer, StepMove, TransactionRow
from services.transactions.saga_steps import SagaSteps, retry_at, same_step
from services.transactions.sandbox_triggers import failure_for
from services.transactions.transaction_events import CREATED, transaction_events

log = structlog.get_logger("transactions.saga")

CLAIM_BATCH_MAX: Final = 256
STEP_LEASE: Final = timedelta(seconds=15)
IDLE_POLL_S: Final = 0.2
# After this many attempts a payment is parked for an operator (about three days at
# the maximum delay); every other path ends in a final state long before.
ATTEMPTS_MAX: Final = 10_000
IDEMPOTENCY_PURGE_BATCH_MAX: Final = 500
INTERRUPTED_REASON: Final = "Interrupted before funds were held"


class SagaWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        direct: DirectPool,
        ledger: LedgerClient,
        steps: SagaSteps,
        timing: RailTiming,
        render: Render,
        *,
        sandbox: bool,
    ) -> None:
        self._engine = engine
        self._direct = direct
        self._ledger = ledger
        self._steps = steps
        self._timing = timing
        self._render = render
        self._sandbox = sandbox
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("saga_round_failed")
                claimed = 0
            if claimed < CLAIM_BATCH_MAX:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL_S)
                self._wake.clear()

    async def run_once(self) -> int:
        """Claims one batch of due payments and advances each by one step or more."""
        async with unit_of_work(self._engine) as conn:
            claimed = await repository.claim_due(conn, now=utc_now(), lease=STEP_LEASE, limit=CLAIM_BATCH_MAX)
        if not claimed:
            return 0
        parked = [txn for txn in claimed if txn.attempts > ATTEMPTS_MAX]
        if parked:
            for txn in parked:
                log.error("saga_parked", transaction_id=txn.id, step=txn.saga_step, attempts=txn.attempts)
            await self._steps_write([_park(txn) for txn in parked])
        active = [txn for txn in claimed if txn.attempts <= ATTEMPTS_MAX]
        unfinished = [t for t in active if t.saga_step == lifecycle.HOLD_REQUESTED]
        held = [t for t in active if t.saga_step == lifecycle.HELD]
        ledger_steps = [
            t for t in active if t.saga_step in (lifecycle.POST_REQUESTED, lifecycle.VOID_REQUESTED)
        ]
        finished = [t for t in active if t not in unfinished and t not in held and t not in ledger_steps]
        if finished:
            await self._steps_write([_settled(txn) for txn in finished])
        moved_on = await self._resolve_unfinished_creates(unfinished) + await self._rail_steps(held)
        now = utc_now()
        await self._steps.advance(
            ledger_steps
            + [t for t in moved_on if t.next_attempt_at is not None and t.next_attempt_at <= now + STEP_LEASE]
        )
        return len(claimed)

    async def purge_idempotency_keys(self) -> int:
        async with unit_of_work(self._engine) as conn:
            return await repository.purge_expired_idempotency_keys(
                conn, utc_now(), IDEMPOTENCY_PURGE_BATCH_MAX
            )

    async def _steps_write(self, moves: list[StepMove]) -> list[TransactionRow]:
        async with unit_of_work(self._engine) as conn:
            return list((await repository.move_steps(conn, moves)).values())

    async def _resolve_unfinished_creates(self, txns: list[TransactionRow]) -> list[TransactionRow]:
        """A create whose lease ran out: the ledger says whether its hold exists (and no
        hold can appear any more: the ledger refuses holds decided after their caller gave
        up). Then the payment is either held and goes on, or was never made."""
        now = utc_now()
        moves: list[StepMove] = []
        events: list[NewEvent] = []
        answers: list[KeyAnswer] = []
        forgotten: list[KeyAnswer] = []
        for txn in txns:
            if now - txn.created_at < CREATE_LEASE:
                moves.append(same_step(txn, txn.created_at + CREATE_LEASE))
                continue
            try:
                hold = await self._ledger.find_hold(txn.id)
            except LedgerUnavailable as exc:
                log.warning("ledger_unavailable", transaction_id=txn.id, error=str(exc))
                moves.append(same_step(txn, retry_at(now, txn.attempts)))
                continue
            key = KeyAnswer(txn.tenant_id, txn.idempotency_key, txn.id, None, None)
            if hold is None or hold.status == accounts_pb2.HOLD_STATUS_VOIDED:
                moves.append(
                    StepMove(
                        id=txn.id,
                        expected_step=lifecycle.HOLD_REQUESTED,
                        status=lifecycle.REJECTED,
                        saga_step=lifecycle.NO_HOLD,
                        failure_reason=INTERRUPTED_REASON,
                    )
                )
                # A create that never took effect frees its key, so a retry runs anew.
                forgotten.append(key)
                continue
            rail = payment_types.resolve(txn.payment_type)
            move = held_move(txn, rail, self._timing, now, sandbox=self._sandbox)
            moves.append(move)
            created = replace(txn, expected_settlement_at=move.expected_settlement_at)
            events.extend(transaction_events(CREATED, created))
            # The key of a create that crashed now replays the payment it made.
            answers.append(replace(key, response=self._render(created)))
        if not moves:
            return []
        async with self._direct.connection() as conn:
            moved = await repository.finish_creates(
                conn, moves, events, [a for a in answers if a.key], [f for f in forgotten if f.key]
            )
        rejected = [row for row in moved.values() if row.status == lifecycle.REJECTED]
        resumed = [
            row
            for row in moved.values()
            if row.saga_step != lifecycle.HOLD_REQUESTED and row.status != lifecycle.REJECTED
        ]
        if rejected or resumed:
            log.info("unfinished_creates_resolved", rejected=len(rejected), resumed=len(resumed))
        return resumed

    async def _rail_steps(self, txns: list[TransactionRow]) -> list[TransactionRow]:
        """Held payments whose time has come: ACH joins its window's batch (PROCESSING
        while the batch is out) and goes on when the batch settles; RTP and wire go on."""
        now = utc_now()
        moves: list[StepMove] = []
        for txn in txns:
            rail = payment_types.resolve(txn.payment_type)
            if rail.is_batch and txn.batch_id is None:
                settles_at = txn.expected_settlement_at
                assert settles_at is not None
                closes = settles_at - self._timing.calendar.settlement_delay
                lifecycle.assert_transition(txn.status, lifecycle.PROCESSING)
                moves.append(
                    StepMove(
                        id=txn.id,
                        expected_step=lifecycle.HELD,
                        status=lifecycle.PROCESSING,
                        saga_step=lifecycle.HELD,
                        next_attempt_at=max(settles_at, now),
                        batch_id=f"bat_{int(closes.timestamp())}",
                    )
                )
                continue
            failure = failure_for(rail.id, txn.amount_minor, sandbox=self._sandbox)
            lifecycle.assert_transition(txn.status, lifecycle.PROCESSING)
            moves.append(
                StepMove(
                    id=txn.id,
                    expected_step=lifecycle.HELD,
                    status=lifecycle.PROCESSING,
                    saga_step=lifecycle.VOID_REQUESTED if failure else lifecycle.POST_REQUESTED,
                    void_outcome=lifecycle.FAILED if failure else None,
                    failure_reason=failure or "",
                    next_attempt_at=now + STEP_LEASE,
                )
            )
        if not moves:
            return []
        async with unit_of_work(self._engine) as conn:
            moved = await repository.move_steps(conn, moves)
            joined: dict[tuple[str, datetime], int] = {}
            for row in moved.values():
                if row.saga_step == lifecycle.HELD and row.batch_id is not None:
                    assert row.expected_settlement_at is not None
                    window = (row.batch_id, row.expected_settlement_at)
                    joined[window] = joined.get(window, 0) + 1
            for (batch_id, settles_at), count in joined.items():
                closes = settles_at - self._timing.calendar.settlement_delay
                await repository.add_to_batch(conn, batch_id, closes, settles_at, count)
        return [row for row in moved.values() if row.saga_step != lifecycle.HELD]


def _park(txn: TransactionRow) -> StepMove:
    """Left for an operator: no longer due (next_attempt_at empty), its step kept."""
    return same_step(txn, None)


def _settled(txn: TransactionRow) -> StepMove:
    """A payment already at a final step that was still marked due."""
    return same_step(txn, None)
