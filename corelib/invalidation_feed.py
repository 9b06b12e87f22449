"""PostgreSQL `LISTEN` for in-memory caches: a change committed anywhere reaches every
replica's cache in milliseconds.

A writer sends `pg_notify(channel, payload)` in the same transaction as its change, so
the notification exists exactly when the change does (PostgreSQL delivers it at commit).
A process runs one `InvalidationFeed` per channel as a background job; it holds one
direct connection in autocommit mode (through a transaction-pooling PgBouncer a LISTEN
would be lost, hence `database_direct_url`), hands each payload to its handler, and on
every (re)connection calls `on_resync` first: notifications sent while it was away are
lost, so the owner must reload or catch up before trusting its cache again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Final

import psycopg
import structlog
from psycopg import sql

from corelib.db import libpq_url

log = structlog.get_logger("corelib.invalidation_feed")

CHANNEL_NAME_LENGTH_MAX: Final = 63
RECONNECT_DELAY_S_MIN: Final = 0.1
RECONNECT_DELAY_S_MAX: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5
# A wait for notifications ends this often, so a dead socket is noticed by the next
# keep-alive query instead of never.
IDLE_CHECK_S: Final = 10.0

Handler = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]
Lost = Callable[[], None]


class InvalidationFeed:
    def __init__(
        self,
        database_url: str,
        channel: str,
        *,
        on_message: Handler,
        on_resync: Resync,
        on_lost: Lost | None = None,
    ) -> None:
        if not channel or len(channel) > CHANNEL_NAME_LENGTH_MAX or not channel.replace("_", "").isalnum():
            raise ValueError(f"bad channel name {channel!r}")
        self._url = libpq_url(database_url)
        self._channel = channel
        self._on_message = on_message
        self._on_resync = on_resync
        self._on_lost = on_lost

    async def run(self) -> None:
        """Listens until cancelled; reconnects with a capped, jittered delay."""
        failures = 0
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._on_lost is not None:
                    self._on_lost()
                failures += 1
                delay = min(RECONNECT_DELAY_S_MAX, RECONNECT_DELAY_S_MIN * 2 ** min(failures, 8))
                log.warning(
                    "invalidation_feed_lost", channel=self._channel, error=repr(exc), retry_in_s=delay
                )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            else:
                failures = 0

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="listen"
        ) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            # Listening before catching up: a change committed in between is then both
            # caught up and notified, never neither.
            await self._on_resync()
            log.info("invalidation_feed_listening", channel=self._channel)
            while True:
                async for notify in conn.notifies(timeout=IDLE_CHECK_S):
                    try:
                        self._on_message(notify.payload)
                    except Exception:
                        log.exception("invalidation_handler_failed", channel=self._channel)
                await conn.execute("SELECT 1")
