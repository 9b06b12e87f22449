"""Group commit: many concurrent calls, one unit of work.

Callers `submit` an item and await its own result; a flusher takes everything queued
(at most `batch_size_max` items) and hands it to `apply`, which does the work for all of
them at once — one database transaction, one RPC — and returns one outcome per item, in
order. One item's failure is its own outcome and never fails the others; only an
exception from `apply` itself fails the whole batch.

Batches form by themselves: while a flush is in flight (up to `flushes_max` at once),
new calls queue, and the next flush takes them all. An idle system therefore answers a
lone call at once, and a busy one pays a round trip, a lock and a commit per batch
instead of per call. `linger_s` optionally waits a little for more items when a flush
would otherwise start with few. The queue is bounded: past `queued_max` items, `submit`
refuses at once instead of letting latency grow without limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Generic, TypeVar

import structlog
from prometheus_client import Histogram

log = structlog.get_logger("corelib.batching")

BATCH_ITEMS = Histogram(
    "pe_batch_items",
    "Items per unit of work of a group-commit batcher",
    ["batcher"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
# How often a batcher says in the log how full its batches were.
SUMMARY_INTERVAL_S: Final = 60.0

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

BATCH_SIZE_LIMIT: Final = 10_000
FLUSHES_LIMIT: Final = 64


class QueueFull(Exception):
    """More calls are waiting than the batcher's bound allows."""


class Batcher(Generic[ItemT, ResultT]):
    def __init__(
        self,
        apply: Callable[[Sequence[ItemT]], Awaitable[Sequence[ResultT | BaseException]]],
        *,
        name: str,
        batch_size_max: int,
        queued_max: int,
        flushes_max: int = 1,
        linger_s: float = 0.0,
    ) -> None:
        if not 1 <= batch_size_max <= BATCH_SIZE_LIMIT:
            raise ValueError(f"batch_size_max must be 1..{BATCH_SIZE_LIMIT}")
        if not 1 <= flushes_max <= FLUSHES_LIMIT:
            raise ValueError(f"flushes_max must be 1..{FLUSHES_LIMIT}")
        if queued_max < batch_size_max:
            raise ValueError("queued_max must hold at least one batch")
        self._apply = apply
        self._name = name
        self._batch_size_max = batch_size_max
        self._queued_max = queued_max
        self._flushes_max = flushes_max
        self._linger_s = linger_s
        self._queue: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._flushes = 0
        self._items_histogram = BATCH_ITEMS.labels(name)
        self._summary_items = 0
        self._summary_flushes = 0
        self._summary_started = 0.0
        # The event loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def submit(self, item: ItemT) -> ResultT:
        """This item's result; raises its own error (or the batch's, if `apply` failed)."""
        return await self.submit_many([item])[0]

    def submit_many(self, items: Sequence[ItemT]) -> list[asyncio.Future[ResultT]]:
        """Queues items together (they may still be split across flushes) and returns one
        future per item, in order."""
        if len(self._queue) + len(items) > self._queued_max:
            raise QueueFull(f"{self._name}: more than {self._queued_max} calls waiting")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[ResultT]] = []
        for item in items:
            future: asyncio.Future[ResultT] = loop.create_future()
            self._queue.append((item, future))
            futures.append(future)
        if self._flushes < self._flushes_max:
            self._flushes += 1
            task = loop.create_task(self._flush_while_queued(), name=f"flush-{self._name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return futures

    async def _flush_while_queued(self) -> None:
        try:
            # Bounded: each round takes at least one item, and items arrive only from
            # callers, each of which was admitted under the queue bound.
            while self._queue:
                if self._linger_s and len(self._queue) < self._batch_size_max:
                    await asyncio.sleep(self._linger_s)
                taken = self._queue[: self._batch_size_max]
                del self._queue[: self._batch_size_max]
                await self._flush(taken)
        finally:
            self._flushes -= 1

    def _count(self, items: int) -> None:
        self._items_histogram.observe(items)
        now = asyncio.get_running_loop().time()
        if not self._summary_flushes:
            self._summary_started = now
        self._summary_items += items
        self._summary_flushes += 1
        if now - self._summary_started >= SUMMARY_INTERVAL_S:
            log.info(
                "batching",
                batcher=self._name,
                flushes=self._summary_flushes,
                items_per_flush=round(self._summary_items / self._summary_flushes, 1),
            )
            self._summary_items = self._summary_flushes = 0

    async def _flush(self, taken: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        items = [item for item, _ in taken]
        self._count(len(items))
        try:
            outcomes = await self._apply(items)
        except BaseException as exc:
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            if not isinstance(exc, Exception):
                raise
            return
        if len(outcomes) != len(taken):
            error = AssertionError(f"{self._name}: {len(outcomes)} outcomes for {len(taken)} items")
            log.error("batch_outcomes_mismatch", batcher=self._name, items=len(taken), outcomes=len(outcomes))
            for _, future in taken:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), outcome in zip(taken, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
