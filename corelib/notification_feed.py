"""One PostgreSQL `LISTEN` connection per process, for every channel the process follows.

A writer sends `pg_notify(channel, payload)` in the transaction of its change, so the
notification exists exactly when the change does (PostgreSQL delivers it at commit).
PostgreSQL signals every backend listening in a database on each NOTIFY, whatever its
channel, and a LISTEN needs a direct connection of its own (through a transaction-pooling
PgBouncer it would be lost, hence `direct_database_url`). So a process holds one such
connection for all its channels: each component subscribes to its channel before the
process starts, and the feed hands every notification to that channel's subscriber.

On every (re)connection the feed LISTENs to every channel first and only then asks each
subscriber to catch up (`on_resync`): notifications sent while it was away are lost, and
a change committed between the two is then both caught up and notified, never neither.
A subscriber's notifications that arrive while it catches up are held and handed over
after it, in order; past `HELD_NOTIFICATIONS_MAX` none are kept, and another catch-up,
after a short wait, covers them.

A catch-up that fails (raises, or outlasts `RESYNC_TIMEOUT_S`) is that subscriber's
alone: it is told `on_lost` and tries again after a capped backoff on the same
connection, which keeps serving every other channel. Its notifications meanwhile are
left to that next catch-up, which starts after them and so covers them. Losing the
connection tells every subscriber `on_lost`, and the next connection catches them all up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import psycopg
import structlog
from psycopg import sql

from corelib.backoff import backoff_delay_s
from corelib.db import libpq_url

log = structlog.get_logger("corelib.notification_feed")

CHANNEL_NAME_LENGTH_MAX: Final = 63
# Far beyond what a process follows; it bounds the one LISTEN statement a connection sends.
CHANNELS_MAX: Final = 32
RECONNECT_DELAY_S_FIRST: Final = 0.2
RECONNECT_DELAY_S_MAX: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5
# A wait for notifications ends this often, so a dead socket is noticed by the next
# keep-alive query instead of never.
IDLE_CHECK_S: Final = 10.0
# A catch-up that hangs would hold its channel's notifications for ever.
RESYNC_TIMEOUT_S: Final = 30.0
# Notifications held for one subscriber while it catches up (a payload is at most 8,000
# bytes). Past this, none are kept and another catch-up follows, which covers them.
HELD_NOTIFICATIONS_MAX: Final = 1_000
# The feed's connection is `<process>-listen` in pg_stat_activity: the one backend of a
# process that PostgreSQL signals on every NOTIFY.
APPLICATION_NAME_SUFFIX: Final = "-listen"

Handler = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]
Lost = Callable[[], None]


def reconnect_delay_s(consecutive_failures: int) -> float:
    """Capped and jittered, so the replicas of a restarted database do not come back in step."""
    return backoff_delay_s(consecutive_failures, first_s=RECONNECT_DELAY_S_FIRST, max_s=RECONNECT_DELAY_S_MAX)


def listening_application_name(process_name: str) -> str:
    return f"{process_name}{APPLICATION_NAME_SUFFIX}"


def validate_channel_name(channel: str) -> None:
    # Quoted as an identifier anyway; the rule keeps names plain enough to read in logs.
    if not channel or len(channel) > CHANNEL_NAME_LENGTH_MAX or not channel.replace("_", "").isalnum():
        raise ValueError(f"bad channel name {channel!r}")


@dataclass(frozen=True)
class Subscription:
    """What one channel's subscriber is told: each payload, when to catch up, and (if it
    cares) when notifications may have been missed."""

    channel: str
    on_message: Handler
    on_resync: Resync
    on_lost: Lost | None = None

    def handle(self, payload: str) -> None:
        try:
            self.on_message(payload)
        except Exception:
            log.exception("notification_handler_failed", channel=self.channel)

    def lost(self) -> None:
        if self.on_lost is None:
            return
        try:
            self.on_lost()
        except Exception:
            log.exception("notification_lost_handler_failed", channel=self.channel)


class _ListeningSubscriber:
    """One subscription on one connection: its notifications are handed on once it has
    caught up, held while a catch-up runs, and left to the next catch-up while it waits
    to retry a failed one."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self._caught_up = False
        # A list while a catch-up runs.
        self._held: list[str] | None = None
        self._overflowed = False

    def deliver(self, payload: str) -> None:
        if self._caught_up:
            self.subscription.handle(payload)
        elif self._held is not None:
            if len(self._held) < HELD_NOTIFICATIONS_MAX:
                self._held.append(payload)
            else:
                self._overflowed = True

    async def catch_up(self) -> None:
        """Resyncs until a catch-up succeeds, then hands on what arrived during it."""
        failures = 0
        overtaken = 0
        while True:
            self._held, self._overflowed = [], False
            try:
                async with asyncio.timeout(RESYNC_TIMEOUT_S):
                    await self.subscription.on_resync()
            except Exception as exc:
                self._held = None
                failures += 1
                delay = reconnect_delay_s(failures)
                log.warning(
                    "notification_resync_failed",
                    channel=self.subscription.channel,
                    error=repr(exc),
                    retry_in_s=round(delay, 2),
                )
                self.subscription.lost()
                await asyncio.sleep(delay)
                continue
            held, self._held = self._held, None
            if self._overflowed:
                # Some were not kept: only a catch-up that starts after them covers them.
                # It waits a moment first, as a retry does, so that a flood of changes
                # does not turn into back-to-back catch-ups against their source.
                overtaken += 1
                delay = reconnect_delay_s(overtaken)
                log.warning(
                    "notification_resync_overtaken",
                    channel=self.subscription.channel,
                    held_max=HELD_NOTIFICATIONS_MAX,
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                continue
            self._caught_up = True
            for payload in held:
                self.subscription.handle(payload)
            return


class NotificationFeed:
    """The process's one LISTEN connection. Components `subscribe` while the process is
    built; `run` is one of the process's jobs."""

    def __init__(self, database_url: str, *, process_name: str) -> None:
        self._url = libpq_url(database_url)
        self._application_name = listening_application_name(process_name)
        self._subscriptions: dict[str, Subscription] = {}
        self._running = False

    @property
    def application_name(self) -> str:
        return self._application_name

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._subscriptions)

    def subscribe(
        self, channel: str, *, on_message: Handler, on_resync: Resync, on_lost: Lost | None = None
    ) -> None:
        """One subscriber per channel, and only before the feed runs: a later one would
        have missed the catch-up that its channel's LISTEN must precede."""
        validate_channel_name(channel)
        if self._running:
            raise RuntimeError(f"cannot subscribe to {channel!r}: the feed is already running")
        if channel in self._subscriptions:
            raise ValueError(f"channel {channel!r} already has a subscriber")
        if len(self._subscriptions) >= CHANNELS_MAX:
            raise ValueError(f"a feed follows at most {CHANNELS_MAX} channels")
        self._subscriptions[channel] = Subscription(channel, on_message, on_resync, on_lost)

    async def run(self) -> None:
        """Listens until cancelled; reconnects with a capped, jittered delay. A feed that
        nobody subscribed to holds no connection."""
        if self._running:
            raise RuntimeError("the feed is already running")
        self._running = True
        try:
            if self._subscriptions:
                await self._listen_until_cancelled()
            else:
                await asyncio.get_running_loop().create_future()
        finally:
            self._running = False

    async def _listen_until_cancelled(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    application_name=self._application_name,
                ) as conn:
                    await conn.execute(self._listen_statement())
                    failures = 0
                    await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                for subscription in self._subscriptions.values():
                    subscription.lost()
                failures += 1
                delay = reconnect_delay_s(failures)
                log.warning(
                    "notification_feed_lost",
                    channels=list(self._subscriptions),
                    error=repr(exc),
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)

    def _listen_statement(self) -> sql.Composed:
        return sql.SQL("; ").join(
            sql.SQL("LISTEN {}").format(sql.Identifier(channel)) for channel in self._subscriptions
        )

    async def _serve(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Already listening: catches every subscriber up and dispatches until the
        connection fails."""
        subscribers = {channel: _ListeningSubscriber(s) for channel, s in self._subscriptions.items()}
        catching_up = [
            asyncio.create_task(subscriber.catch_up(), name=f"{channel}-resync")
            for channel, subscriber in subscribers.items()
        ]
        log.info("notification_feed_listening", channels=list(subscribers))
        try:
            while True:
                async for notify in conn.notifies(timeout=IDLE_CHECK_S):
                    subscriber = subscribers.get(notify.channel)
                    if subscriber is not None:
                        subscriber.deliver(notify.payload)
                await conn.execute("SELECT 1")
        finally:
            for task in catching_up:
                task.cancel()
            await asyncio.gather(*catching_up, return_exceptions=True)
