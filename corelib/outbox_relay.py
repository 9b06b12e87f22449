"""The outbox relay: moves a producer's unpublished outbox rows to the webhooks service.

It runs in the producing process (a `ServiceProcess.background` job), on a psycopg
connection of its own (`corelib.direct_sql`: a round runs at the rate of commits, and
SQLAlchemy's async layer cost more than the statement). Each round, in one
DB transaction, it takes the oldest rows with `FOR UPDATE SKIP LOCKED` (deleting them),
calls `publish` with them (WebhooksService.PublishEvents), and commits only once the
call succeeded. If the call fails the transaction rolls back and the rows are back;
PublishEvents is idempotent by event id, so an answer lost after the webhooks service
stored the events only causes a harmless resend. Several replicas can run at once: SKIP
LOCKED hands them disjoint batches. The relay sleeps until a producer's commit wakes it
(PostgreSQL NOTIFY on the outbox's channel, sent with the insert, heard on the process's
one `NotificationFeed`), and looks again on its own only every `IDLE_WAIT_S_DEFAULT` in
case a wake-up was lost.

A producer wires it up with one call in its server.py:

    background=[outbox_relay_job(settings, outbox, auth_client, feed, service_name="accounts")]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import grpc
import structlog
from google.protobuf import timestamp_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from sqlalchemy import Table

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.backoff import backoff_delay_s
from corelib.config import Settings
from corelib.direct_sql import DirectPool
from corelib.notification_feed import NotificationFeed
from corelib.outbox import OutboxEvent, outbox_channel, take_unpublished

log = structlog.get_logger("corelib.outbox_relay")

# What a producer awaits to hand events on; raising leaves them unpublished.
Publish = Callable[[Sequence[OutboxEvent]], Awaitable[None]]


class PublishUnanswered(Exception):
    """The webhooks service answered for fewer events than it was sent."""


# PublishEvents takes at most 500 events per call.
BATCH_SIZE_MAX_DEFAULT: Final = 200
BATCH_SIZE_LIMIT: Final = 500
# How long an idle relay sleeps before looking again, unless a commit wakes it earlier:
# the bound on the delay of an event whose wake-up was lost (a reconnecting listener).
IDLE_WAIT_S_DEFAULT: Final = 1.0
# After a round that was not full, the least time before the next: events committed
# meanwhile go out together (at most 20 rounds a second; the webhooks' delay budget is a
# second).
GATHER_S_DEFAULT: Final = 0.05
PUBLISH_TIMEOUT_S: Final = 10.0
# A round looks this many ids back from the newest row its relay published (rows of
# transactions that committed a little late), and every so many rounds from the start.
LOOKBACK_IDS: Final = 5_000
SWEEP_EVERY_ROUNDS: Final = 50
# A failing publish is retried for as long as the process runs (events are never
# dropped), with a capped exponential delay so a down webhooks service is not hammered.
RETRY_DELAY_S_FIRST: Final = 0.2
RETRY_DELAY_S_MAX: Final = 30.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY: Final = 86_400


class RelayPosition:
    """Where a relay's next round starts looking. Published rows are deleted, but their
    index entries stay until vacuum, so a round that scanned from the oldest id would
    walk every one of them: under a heavy load the relay would slow as it went. A round
    starts a little before the newest row this relay published instead. A row that
    committed late with an older id (its transaction took long) is found by a sweep from
    the start: every `SWEEP_EVERY_ROUNDS` rounds, and whenever a round from the position
    finds nothing."""

    def __init__(self) -> None:
        self._newest_published = 0
        self._rounds = 0

    def start(self) -> int:
        self._rounds += 1
        if self._rounds % SWEEP_EVERY_ROUNDS == 0:
            return 0
        return max(0, self._newest_published - LOOKBACK_IDS)

    def published(self, events: Sequence[OutboxEvent]) -> None:
        if events:
            self._newest_published = max(self._newest_published, events[-1].row_id)


async def relay_once(
    pool: DirectPool,
    table: Table,
    publish: Publish,
    *,
    batch_size_max: int,
    position: RelayPosition | None = None,
) -> int:
    """One round: take, publish, commit. Returns how many events were published."""
    after_id = position.start() if position is not None else 0
    async with pool.transaction() as conn:
        events = await take_unpublished(conn, table, limit=batch_size_max, after_id=after_id)
        if not events and after_id:
            events = await take_unpublished(conn, table, limit=batch_size_max)
        if not events:
            return 0
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            # Never more per call than PublishEvents takes, whatever a round returned.
            for start in range(0, len(events), BATCH_SIZE_LIMIT):
                await publish(events[start : start + BATCH_SIZE_LIMIT])
    if position is not None:
        position.published(events)
    return len(events)


async def _pause(wake: asyncio.Event | None, seconds: float) -> None:
    if wake is None:
        await asyncio.sleep(seconds)
        return
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass
    wake.clear()


async def run_relay(
    pool: DirectPool,
    table: Table,
    publish: Publish,
    *,
    batch_size_max: int = BATCH_SIZE_MAX_DEFAULT,
    idle_wait_s: float = IDLE_WAIT_S_DEFAULT,
    gather_s: float = GATHER_S_DEFAULT,
    wake: asyncio.Event | None = None,
) -> None:
    """Relays until cancelled. `wake`, when given and set (e.g. right after a commit that
    recorded events), ends an idle wait early."""
    if not 1 <= batch_size_max <= BATCH_SIZE_LIMIT:
        raise ValueError(f"batch_size_max must be 1..{BATCH_SIZE_LIMIT}")
    failures = 0
    position = RelayPosition()
    while True:
        try:
            published = await relay_once(
                pool, table, publish, batch_size_max=batch_size_max, position=position
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            delay = backoff_delay_s(failures, first_s=RETRY_DELAY_S_FIRST, max_s=RETRY_DELAY_S_MAX)
            log.warning(
                "outbox_relay_failed",
                table=table.fullname,
                consecutive_failures=failures,
                retry_in_s=round(delay, 2),
                error=repr(exc),
            )
            await asyncio.sleep(delay)
            continue
        if failures:
            log.info("outbox_relay_recovered", table=table.fullname, after_failures=failures)
            failures = 0
        # A full batch means more may be waiting: go again at once. Otherwise rest a
        # moment first, so that the commits of that moment travel together: a round per
        # commit would cost a transaction and a call per event under a light load.
        if published < batch_size_max:
            await asyncio.sleep(gather_s)
            await _pause(wake, idle_wait_s)


def publish_request(events: Sequence[OutboxEvent]) -> webhooks_pb2.PublishEventsRequest:
    """The PublishEvents request for these events, their data as the JSON the outbox
    holds (`encoded_events`). Each event is built in place inside the request: a message
    built apart and then passed in is copied whole each time."""
    request = webhooks_pb2.PublishEventsRequest()
    add = request.encoded_events.add
    for event in events:
        message = add(
            event_id=event.event_id,
            event_type=event.event_type,
            tenant_id=event.tenant_id,
            data_json=event.data_json,
        )
        _set_created_at(message.created_at, event.created_at)
    return request


def struct_publish_request(events: Sequence[OutboxEvent]) -> webhooks_pb2.PublishEventsRequest:
    """The same request with each event's data as a Struct (`events`), which a webhooks
    service older than `encoded_events` reads."""
    request = webhooks_pb2.PublishEventsRequest()
    add = request.events.add
    for event in events:
        message = add(event_id=event.event_id, event_type=event.event_type, tenant_id=event.tenant_id)
        _set_created_at(message.created_at, event.created_at)
        # Present even when empty, as the data of every event is.
        message.data.SetInParent()
        message.data.update(event.data)
    return request


def _set_created_at(timestamp: timestamp_pb2.Timestamp, created_at: datetime) -> None:
    # Timestamp.FromDatetime's value (UTC seconds and the microseconds as nanos), by
    # arithmetic instead of a time tuple.
    since_epoch = created_at - _EPOCH
    timestamp.seconds = since_epoch.days * _SECONDS_PER_DAY + since_epoch.seconds
    timestamp.nanos = since_epoch.microseconds * 1000


def webhooks_publisher(
    channel: grpc.aio.Channel, tokens: ServiceTokenSource, *, timeout_s: float = PUBLISH_TIMEOUT_S
) -> Publish:
    """`publish` for run_relay: one PublishEvents call per batch, as this service."""
    stub = webhooks_pb2_grpc.WebhooksServiceStub(channel)

    async def publish(events: Sequence[OutboxEvent]) -> None:
        answer = await stub.PublishEvents(
            publish_request(events), metadata=await tokens.metadata(), timeout=timeout_s
        )
        if answer.accepted_count + answer.duplicate_count == len(events):
            return
        # A webhooks service that does not know `encoded_events` yet (a rolling upgrade
        # that reached this producer first) answers for none of them: the same events
        # once more, as Structs. Anything else short is a failure, and the rows stay.
        log.warning("publish_encoded_events_unanswered", events=len(events))
        answer = await stub.PublishEvents(
            struct_publish_request(events), metadata=await tokens.metadata(), timeout=timeout_s
        )
        if answer.accepted_count + answer.duplicate_count != len(events):
            raise PublishUnanswered(
                f"PublishEvents answered for {answer.accepted_count + answer.duplicate_count} "
                f"of {len(events)} events"
            )

    return publish


def relay_wake_up(feed: NotificationFeed, table: Table) -> asyncio.Event:
    """`run_relay`'s `wake` for `table`: set by the NOTIFY each producer's commit sends on
    the outbox's channel, and after every (re)connection of the process's feed, since
    wake-ups sent while it was away are lost (a lost one costs at most the idle wait)."""
    woken = asyncio.Event()

    async def wake_after_resync() -> None:
        woken.set()

    feed.subscribe(
        outbox_channel(table), on_message=lambda _payload: woken.set(), on_resync=wake_after_resync
    )
    return woken


def outbox_relay_job(
    settings: Settings,
    table: Table,
    auth_client: AuthClient,
    feed: NotificationFeed,
    *,
    service_name: str,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background job a producing service adds to its ServiceProcess, woken through
    the process's `feed` (subscribed here, while the process is built)."""
    wake = relay_wake_up(feed, table)

    async def job() -> None:
        tokens = ServiceTokenSource(
            auth_client, service_name=service_name, service_secret=settings.service_secret
        )
        channel = grpc.aio.insecure_channel(settings.webhooks_addr)
        # One round at a time: one connection.
        pool = DirectPool(
            settings.database_url,
            application_name=f"{service_name}-outbox-relay",
            connections_max=1,
            prepared_statements=settings.database_prepared_statements,
        )
        try:
            await run_relay(pool, table, webhooks_publisher(channel, tokens), wake=wake)
        finally:
            await pool.close()
            await channel.close()

    return job
