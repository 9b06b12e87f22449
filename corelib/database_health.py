"""Readiness that follows the database: a service whose PostgreSQL is away reports
NOT_SERVING on gRPC health (Kubernetes takes it out of its Service, the launcher shows it
as not ready) and SERVING again once the database answers. The process itself keeps
running: its pool reconnects (pre-ping) and its background jobs restart on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import database_answers

log = structlog.get_logger("corelib.database_health")

CHECK_INTERVAL_S: Final = 1.0

# Called with True when the database answers again, False when it stops answering.
OnChange = Callable[[bool], Awaitable[None]]


async def watch_database(
    engine: AsyncEngine, on_change: OnChange, *, interval_s: float = CHECK_INTERVAL_S
) -> None:
    """Checks the database every `interval_s` until cancelled; reports each change."""
    available = True
    while True:
        await asyncio.sleep(interval_s)
        answers = await database_answers(engine)
        if answers == available:
            continue
        available = answers
        if answers:
            log.info("database_available")
        else:
            log.warning("database_unavailable")
        await on_change(answers)
