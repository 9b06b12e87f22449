"""Events, their deliveries and the attempt log are kept for EVENT_RETENTION, then
deleted in bounded batches, so the tables do not grow without end. Replicas may run it
together: deletions skip rows another replica is deleting."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import unit_of_work
from corelib.timestamps import utc_now
from services.webhooks import repository

log = structlog.get_logger("webhooks.retention")

EVENT_RETENTION: Final = timedelta(days=30)
PRUNE_INTERVAL_S: Final = 3600.0
PRUNE_BATCH_MAX: Final = 1000
PRUNE_BATCHES_PER_RUN_MAX: Final = 100


async def prune(engine: AsyncEngine) -> int:
    cutoff = utc_now() - EVENT_RETENTION
    removed = 0
    for _ in range(PRUNE_BATCHES_PER_RUN_MAX):
        async with unit_of_work(engine) as conn:
            events = await repository.prune_events(conn, older_than=cutoff, limit=PRUNE_BATCH_MAX)
            attempts = await repository.prune_attempts(conn, older_than=cutoff, limit=PRUNE_BATCH_MAX)
        removed += events + attempts
        if events < PRUNE_BATCH_MAX and attempts < PRUNE_BATCH_MAX:
            break
    return removed


async def run_retention(engine: AsyncEngine) -> None:
    while True:
        try:
            removed = await prune(engine)
            if removed:
                log.info("webhooks_pruned", rows=removed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("webhooks_prune_failed", error=repr(exc))
        await asyncio.sleep(PRUNE_INTERVAL_S)
