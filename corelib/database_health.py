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
# A probe that says "away" is asked again at once, this many times in all, before the
# replica calls itself unavailable: one late answer (a process paused or starved of CPU
# while it waited) is not a database gone.
PROBES_TO_DECLARE_AWAY: Final = 2

# Called with True when the database answers again, False when it stops answering.
OnChange = Callable[[bool], Awaitable[None]]
Probe = Callable[[], Awaitable[bool]]


async def watch_database(
    engine: AsyncEngine,
    on_change: OnChange,
    *,
    interval_s: float = CHECK_INTERVAL_S,
    probe: Probe | None = None,
) -> None:
    """Checks the database every `interval_s` until cancelled; reports each change.
    `probe` replaces the check (a trivial query on `engine`)."""
    ask = probe or (lambda: database_answers(engine))
    available = True
    while True:
        await asyncio.sleep(interval_s)
        answers = await ask()
        if available and not answers:
            for _ in range(PROBES_TO_DECLARE_AWAY - 1):
                answers = await ask()
                if answers:
                    break
        if answers == available:
            continue
        available = answers
        if answers:
            log.info("database_available")
        else:
            log.warning("database_unavailable")
        await on_change(answers)
