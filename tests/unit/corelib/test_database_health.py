"""Readiness follows the database, but not one late answer: a probe that says "away" is
confirmed by the next one before the replica reports itself unavailable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from corelib.database_health import PROBES_TO_DECLARE_AWAY, watch_database


async def _changes(answers: list[bool]) -> list[bool]:
    """What watch_database reports while its probe gives these answers in turn."""
    engine = create_async_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    given: Iterator[bool] = iter(answers)
    done = asyncio.Event()
    reported: list[bool] = []

    async def probe() -> bool:
        answer = next(given, None)
        if answer is None:
            done.set()
            await asyncio.Event().wait()
        assert answer is not None
        return answer

    async def on_change(available: bool) -> None:
        reported.append(available)

    watcher = asyncio.create_task(watch_database(engine, on_change, interval_s=0, probe=probe))
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
        await engine.dispose()
    return reported


async def test_one_late_answer_changes_nothing() -> None:
    assert await _changes([True, False, True, True]) == []


async def test_a_database_away_is_reported_once_confirmed_and_back_at_once() -> None:
    away = [False] * PROBES_TO_DECLARE_AWAY
    assert await _changes([True, *away, False, True, True]) == [False, True]


async def test_an_answer_between_two_misses_keeps_the_replica_serving() -> None:
    assert await _changes([False, True, False, True]) == []
