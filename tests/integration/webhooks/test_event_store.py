"""Storing published events on psycopg itself: the events and the deliveries they owe in
one statement, a repeated event owing nothing again, and the endpoints read alike on
either kind of connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.db import create_engine
from corelib.direct_sql import DirectPool
from corelib.ids import new_id
from services.webhooks import repository


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, application_name="event-store-test", pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def direct(database_url: str) -> AsyncIterator[DirectPool]:
    pool = DirectPool(database_url, application_name="event-store-test", connections_max=1)
    yield pool
    await pool.close()


def _event(tenant_id: str, event_type: str = "transaction.completed") -> dict[str, Any]:
    return {
        "id": new_id("evt"),
        "tenant_id": tenant_id,
        "event_type": event_type,
        "data": orjson.Fragment(b'{"transactionId": "txn_1", "amount": 1.5}'),
        "created_at": datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
    }


def _delivery(event: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": new_id("dlv"),
        "tenant_id": event["tenant_id"],
        "endpoint_id": endpoint_id,
        "event_id": event["id"],
        "trigger": "event",
        "status": repository.PENDING,
        "next_attempt_at": now,
        "run_started_at": now,
    }


async def _deliveries_of(engine: AsyncEngine, event_ids: list[str]) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_id, count(*) FROM webhooks.deliveries"
                " WHERE event_id = ANY(CAST(:ids AS text[])) GROUP BY event_id"
            ),
            {"ids": event_ids},
        )
        return {str(event_id): int(count) for event_id, count in rows}


async def test_events_and_their_deliveries_are_stored_once(engine: AsyncEngine, direct: DirectPool) -> None:
    tenant_id = new_id("org")
    async with engine.begin() as conn:
        endpoint = await repository.insert_endpoint(
            conn,
            endpoint_id=new_id("whe"),
            tenant_id=tenant_id,
            url="https://example.com/hooks",
            description="",
            event_types=[],
            secret="whsec_test",
        )
    first, second, third = _event(tenant_id), _event(tenant_id), _event(tenant_id)
    async with direct.connection() as conn:
        stored = await repository.store_events(
            conn, [first, second], [_delivery(first, endpoint.id), _delivery(second, endpoint.id)]
        )
    assert stored == [first["id"], second["id"]]
    # A repeat (a relay's retry) stores only what is new, and owes nothing again.
    async with direct.connection() as conn:
        stored = await repository.store_events(
            conn,
            [second, third, first],
            [_delivery(second, endpoint.id), _delivery(third, endpoint.id), _delivery(first, endpoint.id)],
        )
    assert stored == [third["id"]]
    assert await _deliveries_of(engine, [first["id"], second["id"], third["id"]]) == {
        first["id"]: 1,
        second["id"]: 1,
        third["id"]: 1,
    }
    async with engine.connect() as conn:
        data = (
            await conn.execute(
                text("SELECT data, created_at FROM webhooks.events WHERE id = :id"), {"id": third["id"]}
            )
        ).one()
    assert data[0] == {"transactionId": "txn_1", "amount": 1.5}
    assert data[1] == third["created_at"]


async def test_a_delivery_for_an_unknown_endpoint_stores_nothing(
    engine: AsyncEngine, direct: DirectPool
) -> None:
    """One statement: if a delivery cannot be written, neither is its event."""
    event = _event(new_id("org"))
    with pytest.raises(Exception, match="foreign key"):
        async with direct.connection() as conn:
            await repository.store_events(conn, [event], [_delivery(event, new_id("whe"))])
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                text("SELECT count(*) FROM webhooks.events WHERE id = :id"), {"id": event["id"]}
            )
        ).scalar_one()
    assert found == 0


async def test_endpoints_read_alike_on_either_connection(engine: AsyncEngine, direct: DirectPool) -> None:
    tenant_id = new_id("org")
    async with engine.begin() as conn:
        for event_types in ([], ["transaction.*", "account.balance.updated"]):
            await repository.insert_endpoint(
                conn,
                endpoint_id=new_id("whe"),
                tenant_id=tenant_id,
                url="https://example.com/hooks",
                description="d",
                event_types=event_types,
                secret="whsec_test",
            )
    async with engine.connect() as conn:
        through_sqlalchemy = await repository.endpoints_of_tenants(conn, [tenant_id, new_id("org")])
    async with direct.connection() as conn:
        through_psycopg = await repository.endpoints_of_tenants(conn, [tenant_id, new_id("org")])
    assert len(through_psycopg) == 2
    assert sorted(through_psycopg, key=lambda e: e.id) == sorted(through_sqlalchemy, key=lambda e: e.id)
    assert {tuple(e.event_types) for e in through_psycopg} == {
        (),
        ("transaction.*", "account.balance.updated"),
    }
    assert all(e.created_at.tzinfo is not None for e in through_psycopg)
