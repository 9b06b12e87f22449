"""What the revocation feed's listeners catch up on after a reconnection: every
credential whose use ended, or ends within the horizon, since a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.credential_revocations import REVOCATION_HORIZON_S
from corelib.db import autocommit
from corelib.timestamps import utc_now
from services.auth import repository


async def revocations_since(engine: AsyncEngine, since: datetime) -> list[tuple[str, datetime]]:
    horizon_end = utc_now() + timedelta(seconds=REVOCATION_HORIZON_S)
    async with autocommit(engine) as conn:
        return await repository.credential_revocations_since(conn, since, horizon_end)


async def revocations_since_epoch(engine: AsyncEngine, since_epoch_s: float) -> list[tuple[str, float]]:
    since = datetime.fromtimestamp(since_epoch_s, UTC)
    return [(ref, not_after.timestamp()) for ref, not_after in await revocations_since(engine, since)]
