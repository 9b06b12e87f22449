"""The process's one LISTEN connection (corelib.notification_feed) on a real PostgreSQL:
each channel's notifications reach only its subscriber, over one backend; a connection
the server ends tells every subscriber and catches every one up again; a handler that
raises disturbs nobody; a catch-up that fails is retried on the same connection while the
other channels flow, and what was committed meanwhile is caught up, never lost; what
arrives during a catch-up is handed on after it, and more than can be held is left to a
second catch-up."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final

import psycopg
import pytest

from corelib.db import libpq_url
from corelib.notification_feed import CHANNELS_MAX, HELD_NOTIFICATIONS_MAX, NotificationFeed

DEADLINE_S: Final = 10.0
POLL_S: Final = 0.02
# Long enough for a notification sent to arrive, were it going to.
QUIET_S: Final = 0.3


class Subscriber:
    """One channel's subscriber, recording what it was told, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[str] = []
        self.failing_resyncs = 0
        self.handler_raises = False
        self.handled = 0
        self.resync_gate: asyncio.Event | None = None
        self.catch_up_source: Callable[[], Awaitable[list[str]]] | None = None

    @property
    def messages(self) -> list[str]:
        return [event.removeprefix("message:") for event in self.events if event.startswith("message:")]

    def on_message(self, payload: str) -> None:
        self.handled += 1
        if self.handler_raises:
            raise RuntimeError(f"{self.name} cannot handle {payload}")
        self.events.append(f"message:{payload}")

    async def on_resync(self) -> None:
        if self.failing_resyncs > 0:
            self.failing_resyncs -= 1
            self.events.append("resync-failed")
            raise RuntimeError(f"{self.name} cannot catch up")
        if self.resync_gate is not None:
            await self.resync_gate.wait()
        if self.catch_up_source is not None:
            self.events.extend(f"message:{value}" for value in await self.catch_up_source())
        self.events.append("resync")

    def on_lost(self) -> None:
        self.events.append("lost")

    def subscribe_to(self, feed: NotificationFeed) -> None:
        feed.subscribe(self.name, on_message=self.on_message, on_resync=self.on_resync, on_lost=self.on_lost)


def channel_names(count: int) -> list[str]:
    token = secrets.token_hex(4)
    return [f"feed_test_{token}_{index}" for index in range(count)]


async def eventually(check: Callable[[], object], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while True:
        if check():
            return
        assert asyncio.get_running_loop().time() < deadline, f"not within {DEADLINE_S}s: {what}"
        await asyncio.sleep(POLL_S)


async def notify(database_url: str, channel: str, payload: str) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


async def listening_pids(database_url: str, feed: NotificationFeed) -> list[int]:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        rows = await (
            await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (feed.application_name,)
            )
        ).fetchall()
    return [int(row[0]) for row in rows]


async def terminate(database_url: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


@asynccontextmanager
async def running(feed: NotificationFeed, subscribers: list[Subscriber]) -> AsyncIterator[None]:
    """The feed runs inside the block, which starts once every subscriber has caught up."""
    task = asyncio.create_task(feed.run())
    try:
        await eventually(
            lambda: task.done() or all("resync" in s.events for s in subscribers),
            "every subscriber caught up",
        )
        assert not task.done(), task
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def new_feed(database_url: str, subscribers: list[Subscriber]) -> NotificationFeed:
    feed = NotificationFeed(database_url, process_name=f"feed-test-{secrets.token_hex(3)}")
    for subscriber in subscribers:
        subscriber.subscribe_to(feed)
    return feed


async def test_each_channels_notifications_reach_only_its_subscriber_over_one_connection(
    database_url: str,
) -> None:
    subscribers = [Subscriber(name) for name in channel_names(3)]
    a, b, c = subscribers
    feed = new_feed(database_url, subscribers)
    async with running(feed, subscribers):
        assert len(await listening_pids(database_url, feed)) == 1
        for channel, payload in [(a.name, "a1"), (b.name, "b1"), (a.name, "a2"), (c.name, "c1")]:
            await notify(database_url, channel, payload)
        await eventually(lambda: len(a.messages) == 2 and b.messages and c.messages, "every notification")
        await notify(database_url, channel_names(1)[0], "nobody's")
        await asyncio.sleep(QUIET_S)
        assert a.events == ["resync", "message:a1", "message:a2"]
        assert b.events == ["resync", "message:b1"]
        assert c.events == ["resync", "message:c1"]


async def test_a_killed_connection_tells_every_subscriber_then_catches_each_up(database_url: str) -> None:
    subscribers = [Subscriber(name) for name in channel_names(3)]
    bare = Subscriber(channel_names(1)[0])
    feed = new_feed(database_url, subscribers)
    # A subscriber that does not ask to hear of a loss is still caught up after it.
    feed.subscribe(bare.name, on_message=bare.on_message, on_resync=bare.on_resync)
    async with running(feed, [*subscribers, bare]):
        (first,) = await listening_pids(database_url, feed)
        await terminate(database_url, first)
        await eventually(
            lambda: (
                all(s.events == ["resync", "lost", "resync"] for s in subscribers)
                and bare.events == ["resync", "resync"]
            ),
            "every subscriber told of the loss, then caught up",
        )
        (second,) = await listening_pids(database_url, feed)
        assert second != first
        for subscriber in [*subscribers, bare]:
            await notify(database_url, subscriber.name, f"after {subscriber.name}")
        await eventually(
            lambda: all(s.messages == [f"after {s.name}"] for s in [*subscribers, bare]),
            "notifications flowing again",
        )


async def test_a_handler_that_raises_does_not_stop_the_others(database_url: str) -> None:
    broken, healthy = (Subscriber(name) for name in channel_names(2))
    broken.handler_raises = True
    feed = new_feed(database_url, [broken, healthy])
    async with running(feed, [broken, healthy]):
        (pid,) = await listening_pids(database_url, feed)
        for round_ in range(3):
            await notify(database_url, broken.name, f"doomed {round_}")
            await notify(database_url, healthy.name, f"fine {round_}")
        await eventually(lambda: len(healthy.messages) == 3, "the healthy channel's notifications")
        assert healthy.messages == ["fine 0", "fine 1", "fine 2"]
        # Each was handed to the broken handler, and the connection never dropped.
        assert broken.handled == 3
        assert await listening_pids(database_url, feed) == [pid]
        assert "lost" not in broken.events + healthy.events


async def test_a_failing_catch_up_is_retried_while_the_other_channels_flow(database_url: str) -> None:
    """What the failing subscriber's channel announced while it could not catch up is
    caught up by its next catch-up: nothing is lost, and nobody else reconnected."""
    failing, other = (Subscriber(name) for name in channel_names(2))
    committed: list[str] = []

    async def catch_up_source() -> list[str]:
        return list(committed)

    failing.catch_up_source = catch_up_source
    failing.failing_resyncs = 1_000_000
    feed = new_feed(database_url, [failing, other])
    task = asyncio.create_task(feed.run())
    try:
        await eventually(lambda: "resync" in other.events and "lost" in failing.events, "one up, one failing")
        (pid,) = await listening_pids(database_url, feed)
        for value in ("while failing 1", "while failing 2"):
            committed.append(value)
            await notify(database_url, failing.name, value)
        await notify(database_url, other.name, "meanwhile")
        await eventually(lambda: other.messages == ["meanwhile"], "the other channel flowing")
        failing.failing_resyncs = 0
        await eventually(lambda: "resync" in failing.events, "the failing subscriber caught up")
        await notify(database_url, failing.name, "after")
        await eventually(lambda: "after" in failing.messages, "its notifications flowing")
        assert set(failing.messages) == {"while failing 1", "while failing 2", "after"}
        assert failing.events[:2] == ["resync-failed", "lost"]
        assert other.events == ["resync", "message:meanwhile"]
        assert await listening_pids(database_url, feed) == [pid]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_notifications_during_a_catch_up_are_handed_on_after_it(database_url: str) -> None:
    slow, quick = (Subscriber(name) for name in channel_names(2))
    slow.resync_gate = asyncio.Event()
    feed = new_feed(database_url, [slow, quick])
    task = asyncio.create_task(feed.run())
    try:
        await eventually(lambda: "resync" in quick.events, "the quick subscriber caught up")
        await notify(database_url, slow.name, "early 1")
        await notify(database_url, slow.name, "early 2")
        await notify(database_url, quick.name, "quick")
        await eventually(lambda: quick.messages == ["quick"], "the quick channel flowing")
        await asyncio.sleep(QUIET_S)
        assert slow.events == []
        slow.resync_gate.set()
        await eventually(lambda: len(slow.messages) == 2, "the held notifications")
        assert slow.events == ["resync", "message:early 1", "message:early 2"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def notify_many(database_url: str, channel: str, payloads: list[str]) -> None:
    """In one statement, delivered together when it commits."""
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload", (channel, payloads)
        )


async def test_more_than_can_be_held_during_a_catch_up_is_left_to_another(database_url: str) -> None:
    """The notifications past the bound are not handed on one by one: the subscriber
    catches up once more, after them, from its source, and then hears its channel again."""
    flooded, quick = (Subscriber(name) for name in channel_names(2))
    committed: list[str] = []

    async def catch_up_source() -> list[str]:
        return list(committed)

    flooded.catch_up_source = catch_up_source
    flooded.resync_gate = asyncio.Event()
    feed = new_feed(database_url, [flooded, quick])
    task = asyncio.create_task(feed.run())
    try:
        # The quick one caught up: the feed listens, and the flooded one's catch-up waits.
        await eventually(lambda: "resync" in quick.events, "the quick subscriber caught up")
        flood = [f"change {index}" for index in range(HELD_NOTIFICATIONS_MAX + 1)]
        committed.extend(flood)
        await notify_many(database_url, flooded.name, flood)
        await notify(database_url, quick.name, "after the flood")
        await eventually(lambda: quick.messages == ["after the flood"], "the flood delivered")
        flooded.resync_gate.set()
        await eventually(lambda: flooded.events.count("resync") == 2, "a second catch-up")
        await notify(database_url, flooded.name, "after")
        await eventually(lambda: "after" in flooded.messages, "its notifications flowing again")
        caught_up = [f"message:{value}" for value in flood]
        assert flooded.events == [*caught_up, "resync", *caught_up, "resync", "message:after"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_subscriptions_are_one_per_channel_fixed_before_the_feed_runs(database_url: str) -> None:
    feed = NotificationFeed(database_url, process_name="feed-test")
    first = Subscriber(channel_names(1)[0])
    first.subscribe_to(feed)
    with pytest.raises(ValueError, match="already has a subscriber"):
        first.subscribe_to(feed)
    for bad in ("", "x" * 64, "drop table", "semi;colon"):
        with pytest.raises(ValueError, match="bad channel name"):
            Subscriber(bad).subscribe_to(feed)
    async with running(feed, [first]):
        with pytest.raises(RuntimeError, match="already running"):
            Subscriber(channel_names(1)[0]).subscribe_to(feed)
        with pytest.raises(RuntimeError, match="already running"):
            await feed.run()
    assert feed.channels == (first.name,)
    crowded = NotificationFeed(database_url, process_name="feed-test")
    for name in channel_names(CHANNELS_MAX):
        Subscriber(name).subscribe_to(crowded)
    with pytest.raises(ValueError, match="at most"):
        Subscriber(channel_names(1)[0]).subscribe_to(crowded)


async def test_a_feed_nobody_subscribed_to_holds_no_connection(database_url: str) -> None:
    feed = NotificationFeed(database_url, process_name=f"feed-test-{secrets.token_hex(3)}")
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.sleep(QUIET_S)
        assert not task.done()
        assert await listening_pids(database_url, feed) == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
