"""The shared outbox mechanism, as a producer uses it: events recorded in the producer's
transaction, relayed to the webhooks service with a service token, idempotent by event
id, by several relay replicas at once — on a throwaway outbox in a test schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from sqlalchemy import MetaData, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.db import create_engine
from corelib.direct_sql import DirectPool
from corelib.notification_feed import NotificationFeed
from corelib.outbox import (
    NewEvent,
    OutboxEvent,
    outbox_table,
    record_event,
    record_events,
    take_oldest_statement,
    take_unpublished,
)
from corelib.outbox_relay import (
    LOOKBACK_IDS,
    RelayPosition,
    relay_once,
    relay_wake_up,
    run_relay,
    webhooks_publisher,
)
from tests.integration.webhooks.receivers import Receiver
from tests.integration.webhooks.stack import SERVICE_SECRET, WebhooksStack, eventually, running_webhooks

SCHEMA = "outbox_relay_test"
# An idle wait no test waits out: only a wake-up can end it in time.
IDLE_WAIT_LONG_S = 60.0


@pytest.fixture
async def producer(database_url: str) -> AsyncIterator[tuple[AsyncEngine, Table]]:
    engine = create_engine(database_url, application_name="outbox-producer", pool_size=6)
    table = outbox_table(MetaData(schema=SCHEMA))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(table.metadata.create_all)
    yield engine, table
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await engine.dispose()


@pytest.fixture
async def relay_pool(database_url: str) -> AsyncIterator[Callable[[], DirectPool]]:
    """A relay's own connection, as `outbox_relay_job` gives each relay one."""
    pools: list[DirectPool] = []

    def new_pool() -> DirectPool:
        pool = DirectPool(database_url, application_name="outbox-relay-test", connections_max=1)
        pools.append(pool)
        return pool

    yield new_pool
    for pool in pools:
        await pool.close()


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[WebhooksStack]:
    async with running_webhooks(database_url) as running:
        yield running


async def all_published(engine: AsyncEngine, table: Table) -> bool:
    async with engine.connect() as conn:
        waiting = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return int(waiting) == 0


async def test_a_recorded_event_is_relayed_and_delivered(
    stack: WebhooksStack, producer: tuple[AsyncEngine, Table], relay_pool: Callable[[], DirectPool]
) -> None:
    engine, table = producer
    tenant = await stack.new_tenant("Producer")
    receiver = await Receiver().start()
    channel = grpc.aio.insecure_channel(stack.settings.webhooks_addr)
    auth_channel = grpc.aio.insecure_channel(stack.settings.auth_addr)
    tokens = ServiceTokenSource(
        AuthClient(auth_channel), service_name="accounts", service_secret=SERVICE_SECRET
    )
    relay = asyncio.create_task(
        run_relay(relay_pool(), table, webhooks_publisher(channel, tokens), idle_wait_s=0.05)
    )
    try:
        await stack.create_endpoint(tenant, receiver.url)
        data = {"accountId": "acc_1", "availableBalance": 10.5, "currentBalance": 12.0, "currencyCode": "USD"}
        async with engine.begin() as conn:
            event_id = await record_event(
                conn, table, tenant_id=tenant.tenant_id, event_type="account.balance.updated", data=data
            )
        # A rolled-back transaction leaves no event behind.
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await record_event(
                    conn, table, tenant_id=tenant.tenant_id, event_type="transaction.created", data={}
                )
                raise RuntimeError("the state change failed")
        arrived = await receiver.wait_count(1)
        await eventually(lambda: all_published(engine, table))
        # Back in the outbox (a relay whose commit was lost after publishing): resent,
        # and the webhooks service ignores the duplicate.
        async with engine.begin() as conn:
            await conn.execute(
                insert(table).values(
                    event_id=event_id,
                    tenant_id=tenant.tenant_id,
                    event_type="account.balance.updated",
                    payload=data,
                )
            )
        await eventually(lambda: all_published(engine, table))
        await asyncio.sleep(0.4)
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        await receiver.stop()
        await channel.close()
        await auth_channel.close()
    assert event_id.startswith("evt_")
    assert [r.event["eventId"] for r in receiver.received] == [event_id]
    assert arrived[0].event["eventType"] == "account.balance.updated" and arrived[0].event["data"] == data


async def test_relay_replicas_publish_every_event_once(
    producer: tuple[AsyncEngine, Table], relay_pool: Callable[[], DirectPool]
) -> None:
    engine, table = producer
    published: list[str] = []
    calls = 0

    async def publish(events: Sequence[OutboxEvent]) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        # The first call fails, as a down webhooks service would: nothing is lost.
        if calls == 1:
            raise ConnectionError("webhooks unavailable")
        published.extend(e.event_id for e in events)

    async with engine.begin() as conn:
        recorded = [
            await record_event(
                conn, table, tenant_id="org_test", event_type="transaction.created", data={"n": i}
            )
            for i in range(300)
        ]
    relays = [
        asyncio.create_task(run_relay(relay_pool(), table, publish, batch_size_max=25, idle_wait_s=0.02))
        for _ in range(3)
    ]
    try:
        await eventually(lambda: all_published(engine, table), timeout_s=30)
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
    assert sorted(published) == sorted(recorded)


async def test_an_idle_relay_is_woken_by_its_outboxs_notify_on_the_process_feed(
    producer: tuple[AsyncEngine, Table], relay_pool: Callable[[], DirectPool], database_url: str
) -> None:
    """The relay's wake-up is one subscriber of the process's feed, beside the others on
    its one connection: a commit that records an event wakes it long before its idle
    wait would end."""
    engine, table = producer
    published: list[str] = []
    others_heard: list[str] = []

    async def publish(events: Sequence[OutboxEvent]) -> None:
        published.extend(e.event_id for e in events)

    async def nothing_to_catch_up() -> None:
        pass

    feed = NotificationFeed(database_url, process_name="outbox-relay-test")
    wake = relay_wake_up(feed, table)
    feed.subscribe("outbox_relay_test_other", on_message=others_heard.append, on_resync=nothing_to_catch_up)
    tasks = [
        asyncio.create_task(feed.run()),
        asyncio.create_task(run_relay(relay_pool(), table, publish, idle_wait_s=IDLE_WAIT_LONG_S, wake=wake)),
    ]
    try:
        # Listening, caught up (which woke the relay once), and idle again.
        await asyncio.sleep(0.5)
        started = asyncio.get_running_loop().time()
        async with engine.begin() as conn:
            event_id = await record_event(
                conn, table, tenant_id="org_test", event_type="transaction.created", data={}
            )

        async def relayed() -> bool:
            return published == [event_id]

        await eventually(relayed, timeout_s=5)
        assert asyncio.get_running_loop().time() - started < IDLE_WAIT_LONG_S / 10
        assert others_heard == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_row_committed_late_with_an_older_id_is_still_relayed(
    producer: tuple[AsyncEngine, Table], relay_pool: Callable[[], DirectPool]
) -> None:
    """A relay round starts near the newest row it published; a row whose transaction
    took its id first but committed after later rows were published is found all the
    same (by the sweep from the start), and published once."""
    engine, table = producer
    pool = relay_pool()
    published: list[str] = []
    position = RelayPosition()

    async def publish(events: Sequence[OutboxEvent]) -> None:
        published.extend(e.event_id for e in events)

    async def record(conn: AsyncConnection, n: int) -> str:
        return await record_event(
            conn, table, tenant_id="org_test", event_type="transaction.created", data={"n": n}
        )

    async with engine.connect() as slow:
        slow_transaction = await slow.begin()
        late = await record(slow, -1)  # the oldest id, not committed yet
        async with engine.begin() as conn:
            on_time = [await record(conn, n) for n in range(LOOKBACK_IDS // 1000 + 3)]
        # Ids far beyond the late row, as a busy outbox would have.
        async with engine.begin() as conn:
            await conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table.fullname}', 'id'), {10 * LOOKBACK_IDS})")
            )
            on_time.append(await record(conn, 999))
        while await relay_once(pool, table, publish, batch_size_max=2, position=position):
            pass
        assert sorted(published) == sorted(on_time)
        await slow_transaction.commit()
    for _ in range(3):
        await relay_once(pool, table, publish, batch_size_max=2, position=position)
    assert sorted(published) == sorted([*on_time, late])
    assert await all_published(engine, table)


async def test_record_event_refuses_what_the_webhooks_service_would(
    producer: tuple[AsyncEngine, Table],
) -> None:
    engine, table = producer
    async with engine.begin() as conn:
        for tenant_id, event_type, data in (
            ("", "transaction.created", {}),
            ("org_1", "TransactionCreated", {}),
            ("org_1", "transaction.created", {"blob": "x" * 70_000}),
        ):
            with pytest.raises(ValueError, match=r"bad|exceeds"):
                await record_event(conn, table, tenant_id=tenant_id, event_type=event_type, data=data)


async def test_a_webhooks_service_that_predates_encoded_events_gets_them_as_structs(
    stack: WebhooksStack, producer: tuple[AsyncEngine, Table], relay_pool: Callable[[], DirectPool]
) -> None:
    """A rolling upgrade that reaches a producer before the webhooks service: the older
    service ignores `encoded_events` (a field it does not know) and answers for none of
    them; the relay sends the same events again as Structs, and none is lost."""
    engine, table = producer
    tenant = await stack.new_tenant("Older webhooks")
    upstream = grpc.aio.insecure_channel(stack.settings.webhooks_addr)
    webhooks = webhooks_pb2_grpc.WebhooksServiceStub(upstream)
    calls: list[tuple[int, int]] = []

    async def older_publish_events(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        message = webhooks_pb2.PublishEventsRequest.FromString(request)
        calls.append((len(message.events), len(message.encoded_events)))
        message.ClearField("encoded_events")
        answer = await webhooks.PublishEvents(message, metadata=tuple(context.invocation_metadata() or ()))
        return bytes(answer.SerializeToString())

    older = grpc.aio.server()
    older.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "payment_engine.webhooks.v1.WebhooksService",
                {"PublishEvents": grpc.unary_unary_rpc_method_handler(older_publish_events)},
            ),
        )
    )
    port = older.add_insecure_port("127.0.0.1:0")
    await older.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    auth_channel = grpc.aio.insecure_channel(stack.settings.auth_addr)
    tokens = ServiceTokenSource(
        AuthClient(auth_channel), service_name="accounts", service_secret=SERVICE_SECRET
    )
    try:
        data = [{"accountId": f"acc_{n}", "currentBalance": n + 0.5, "currencyCode": "USD"} for n in range(3)]
        async with engine.begin() as conn:
            recorded = [
                await record_event(
                    conn, table, tenant_id=tenant.tenant_id, event_type="account.balance.updated", data=d
                )
                for d in data
            ]
        published = await relay_once(
            relay_pool(), table, webhooks_publisher(channel, tokens), batch_size_max=10
        )
        assert published == 3 and await all_published(engine, table)
        assert calls == [(0, 3), (3, 0)]
        for event_id, expected in zip(recorded, data, strict=True):
            stored = await webhooks.GetEvent(
                webhooks_pb2.GetEventRequest(id=event_id), metadata=tenant.metadata
            )
            assert MessageToDict(stored.event.data) == expected
    finally:
        await channel.close()
        await auth_channel.close()
        await upstream.close()
        await older.stop(None)


async def _record_burst(engine: AsyncEngine, table: Table, count: int) -> None:
    async with engine.begin() as conn:
        await record_events(
            conn,
            table,
            [
                NewEvent(tenant_id="org_test", event_type="transaction.created", data={"n": n})
                for n in range(count)
            ],
        )


async def test_a_round_takes_at_most_its_limit_oldest_first_from_a_large_outbox(
    producer: tuple[AsyncEngine, Table],
) -> None:
    """A burst leaves thousands of rows (and the index entries of deleted ones): every
    round still takes at most its limit, oldest first, and each row once."""
    engine, table = producer
    await _record_burst(engine, table, 3000)
    async with engine.begin() as conn:
        # Rows deleted in a first pass, as a relay leaves them until vacuum.
        await conn.execute(text(f"DELETE FROM {table.fullname} WHERE id % 3 = 0"))  # noqa: S608
    taken: list[int] = []
    for _ in range(100):
        async with engine.begin() as conn:
            events = await take_unpublished(conn, table, limit=150, after_id=taken[-1] if taken else 0)
        assert len(events) <= 150
        if not events:
            break
        taken += [event.row_id for event in events]
    assert taken == sorted(taken) and len(taken) == len(set(taken)) == 2000


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [node]
    for child in node.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


async def test_a_round_finds_its_rows_by_primary_key_however_large_the_outbox(
    producer: tuple[AsyncEngine, Table],
) -> None:
    """The delete reaches the chosen rows through the primary key whatever the planner
    believes of the outbox's size: joined to them instead, it may walk the whole outbox
    and compare every row with every chosen id — a round grows with the backlog times
    its limit."""
    engine, table = producer
    await _record_burst(engine, table, 3000)
    for analyzed in (False, True):
        if analyzed:
            async with engine.begin() as conn:
                await conn.execute(text(f"ANALYZE {table.fullname}"))
        async with engine.connect() as conn:
            statement = take_oldest_statement(table)
            explained = await conn.execute(
                text(f"EXPLAIN (FORMAT JSON) {statement.clause.text}"), {"after_id": 0, "limit": 200}
            )
            nodes = _plan_nodes(explained.scalar_one()[0]["Plan"])
        outbox_scans = [
            n
            for n in nodes
            if (n.get("Relation Name"), n.get("Alias")) == ("outbox", "o") and n["Node Type"] != "ModifyTable"
        ]
        assert outbox_scans, nodes
        # An index scan's condition, or a bitmap scan's recheck of it.
        conditions = [scan.get("Index Cond", "") + scan.get("Recheck Cond", "") for scan in outbox_scans]
        assert all("ANY" in condition for condition in conditions), outbox_scans
        assert not any("Join Filter" in n for n in nodes), nodes
