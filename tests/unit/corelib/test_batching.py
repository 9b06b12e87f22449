"""Group commit: concurrent calls share one unit of work, each gets its own outcome, and
every bound holds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from corelib.batching import Batcher, QueueFull


class Ledger:
    """Records each unit of work; an item "bad" is refused on its own."""

    def __init__(self, *, delay_s: float = 0.01) -> None:
        self.batches: list[list[str]] = []
        self.delay_s = delay_s

    async def apply(self, items: Sequence[str]) -> list[str | BaseException]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay_s)
        return [ValueError(f"refused {item}") if item.startswith("bad") else item.upper() for item in items]


async def test_concurrent_calls_share_units_of_work_and_get_their_own_outcomes() -> None:
    ledger = Ledger()
    batcher: Batcher[str, str] = Batcher(ledger.apply, name="test", batch_size_max=100, queued_max=1000)
    calls = [batcher.submit(f"item{n}") for n in range(50)] + [batcher.submit("bad")]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[:50] == [f"ITEM{n}" for n in range(50)]
    assert isinstance(outcomes[50], ValueError)
    # Calls made before the flusher ran share its one unit of work.
    assert len(ledger.batches) == 1 and len(ledger.batches[0]) == 51
    # One made while a flush is in flight waits for the next.
    assert list(await asyncio.gather(batcher.submit("a"), batcher.submit("b"))) == ["A", "B"]
    assert ledger.batches[1:] == [["a", "b"]]


async def test_a_failing_unit_of_work_fails_its_batch_only() -> None:
    calls = 0

    async def apply(items: Sequence[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise RuntimeError("database went away")
        return list(items)

    batcher: Batcher[int, int] = Batcher(apply, name="test", batch_size_max=10, queued_max=100)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3)]
    with pytest.raises(RuntimeError):
        await first
    assert await asyncio.gather(*later) == [2, 3]


async def test_batches_never_exceed_their_size_and_the_queue_its_bound() -> None:
    ledger = Ledger(delay_s=0.05)
    batcher: Batcher[str, str] = Batcher(ledger.apply, name="test", batch_size_max=4, queued_max=10)
    futures = batcher.submit_many([f"x{n}" for n in range(10)])
    with pytest.raises(QueueFull):
        batcher.submit_many(["one too many"])
    assert await asyncio.gather(*futures) == [f"X{n}" for n in range(10)]
    assert max(len(batch) for batch in ledger.batches) <= 4


async def test_concurrent_flushes_are_bounded() -> None:
    in_flight = 0
    peak = 0

    async def apply(items: Sequence[int]) -> list[int | BaseException]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return list(items)

    batcher: Batcher[int, int] = Batcher(apply, name="test", batch_size_max=1, queued_max=100, flushes_max=3)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(20))) == list(range(20))
    assert peak == 3


def test_bounds_are_checked() -> None:
    async def apply(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)

    with pytest.raises(ValueError, match="queued_max"):
        Batcher(apply, name="test", batch_size_max=10, queued_max=5)
    with pytest.raises(ValueError, match="batch_size_max"):
        Batcher(apply, name="test", batch_size_max=0, queued_max=5)
