"""A stand-in producing service for the webhooks benchmarks: commits events to an outbox
of its own at a fixed rate and runs the shared relay that hands them to the webhooks
service — exactly what the accounts and transactions services do, minus the payments.

It lets the webhooks path be measured at a rate the payment path of a small machine
cannot produce (the issue's 500 events per second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import grpc
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.direct_sql import DirectPool
from corelib.notification_feed import NotificationFeed
from corelib.outbox import outbox_table, record_event
from corelib.outbox_relay import relay_wake_up, run_relay, webhooks_publisher

PRODUCER_SCHEMA: Final = "bench_producer"
# One commit per tick, with every event due by then — as payments commit one by one.
TICK_S: Final = 0.01
# Publishing as one of the engine's producing services (auth accepts these names).
PRODUCER_SERVICE: Final = "transactions"
EVENT_TYPE: Final = "transaction.completed"


async def create_outbox(engine: AsyncEngine) -> Table:
    table = outbox_table(MetaData(schema=PRODUCER_SCHEMA))
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {PRODUCER_SCHEMA}"))
        await conn.run_sync(table.metadata.create_all)
    return table


async def produce(
    engine: AsyncEngine, table: Table, tenant_id: str, *, rate: float, seconds: float
) -> dict[str, float]:
    """Commits events at `rate` per second for `seconds`; event id → commit time."""
    committed: dict[str, float] = {}
    started = time.monotonic()
    produced = 0
    # Bounded twice: by time, and by a tick count that time cannot exceed.
    for _ in range(int(seconds / TICK_S) + 1):
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            break
        due = int(elapsed * rate) - produced
        if due > 0:
            async with engine.begin() as conn:
                ids = [
                    await record_event(
                        conn,
                        table,
                        tenant_id=tenant_id,
                        event_type=EVENT_TYPE,
                        data={
                            "transactionId": f"txn_bench_{produced + i}",
                            "transactionReference": f"ORDER-{produced + i}",
                            "amount": 100.25,
                            "currencyCode": "USD",
                            "status": "COMPLETED",
                            "failureReason": "",
                        },
                    )
                    for i in range(due)
                ]
            now = time.time()
            committed.update((event_id, now) for event_id in ids)
            produced += due
        await asyncio.sleep(TICK_S)
    return committed


@asynccontextmanager
async def relaying(
    engine: AsyncEngine, table: Table, *, webhooks_addr: str, auth_addr: str, service_secret: str
) -> AsyncIterator[None]:
    """The outbox relay runs inside the block."""
    async with (
        grpc.aio.insecure_channel(webhooks_addr) as channel,
        grpc.aio.insecure_channel(auth_addr) as auth,
    ):
        tokens = ServiceTokenSource(
            AuthClient(auth), service_name=PRODUCER_SERVICE, service_secret=service_secret
        )
        # Exactly as a producing service relays: woken by its commits' NOTIFY, heard on
        # this process's one feed, on a psycopg connection of its own.
        database_url = engine.url.render_as_string(hide_password=False)
        feed = NotificationFeed(database_url, process_name="bench-producer")
        wake = relay_wake_up(feed, table)
        pool = DirectPool(
            database_url, application_name=f"{PRODUCER_SERVICE}-outbox-relay", connections_max=1
        )
        tasks = [
            asyncio.create_task(feed.run()),
            asyncio.create_task(run_relay(pool, table, webhooks_publisher(channel, tokens), wake=wake)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pool.close()
