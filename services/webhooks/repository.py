"""All SQL of the webhooks service. Functions take the unit of work's connection, so a
use case composes several of them inside one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.direct_sql import AnyConnection, direct_statement, rows_of
from corelib.row_sets import json_rows
from services.webhooks.schema import deliveries, delivery_attempts, endpoints, events

ENABLED = "enabled"
DISABLED = "disabled"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True)
class EndpointRow:
    id: str
    tenant_id: str
    url: str
    description: str
    event_types: list[str]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    status: str
    disabled_reason: str
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventRow:
    id: str
    tenant_id: str
    event_type: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    trigger: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class AttemptRow:
    delivery_id: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str
    response_body: str
    succeeded: bool


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a dispatcher holds under lease, with what it needs to send it."""

    id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    trigger: str
    # This attempt's number (1 for the first).
    attempt_number: int
    schedule_position: int
    run_started_at: datetime
    claim_token: str
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    # The endpoint's last attempt failed (its run of failures is not empty).
    endpoint_failing: bool
    event_type: str
    data: dict[str, Any]
    event_created_at: datetime


@dataclass(frozen=True)
class DeliveryUpdate:
    """A delivery's state after an attempt; written only while the claim still holds."""

    id: str
    claim_token: str
    status: str
    next_attempt_at: datetime | None
    schedule_position: int
    run_started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class NewAttempt:
    delivery_id: str
    endpoint_id: str
    tenant_id: str
    attempt_number: int
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str
    response_body: str
    succeeded: bool


def _row(cls: Any, mapping: Any) -> Any:
    return cls(**{name: mapping[name] for name in cls.__dataclass_fields__})


def _endpoint_columns() -> list[Any]:
    return [endpoints.c[name] for name in EndpointRow.__dataclass_fields__]


# endpoints


async def lock_tenant_endpoints(conn: AsyncConnection, tenant_id: str) -> None:
    """Serialises endpoint creation per tenant, so the per-tenant limit holds under races."""
    await conn.execute(select(func.pg_advisory_xact_lock(7_246_150, func.hashtext(tenant_id))))


async def count_endpoints(conn: AsyncConnection, tenant_id: str) -> int:
    statement = select(func.count()).select_from(endpoints).where(endpoints.c.tenant_id == tenant_id)
    return int((await conn.execute(statement)).scalar_one())


async def insert_endpoint(
    conn: AsyncConnection,
    *,
    endpoint_id: str,
    tenant_id: str,
    url: str,
    description: str,
    event_types: list[str],
    secret: str,
) -> EndpointRow:
    row = (
        (
            await conn.execute(
                insert(endpoints)
                .values(
                    id=endpoint_id,
                    tenant_id=tenant_id,
                    url=url,
                    description=description,
                    event_types=event_types,
                    secret=secret,
                    status=ENABLED,
                )
                .returning(*_endpoint_columns())
            )
        )
        .mappings()
        .one()
    )
    result: EndpointRow = _row(EndpointRow, row)
    return result


async def get_endpoint(
    conn: AsyncConnection, tenant_id: str, endpoint_id: str, *, for_update: bool = False
) -> EndpointRow | None:
    query = select(*_endpoint_columns()).where(
        endpoints.c.id == endpoint_id, endpoints.c.tenant_id == tenant_id
    )
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _row(EndpointRow, row)


async def list_endpoints(
    conn: AsyncConnection, tenant_id: str, *, before_id: str | None, limit: int
) -> list[EndpointRow]:
    query = select(*_endpoint_columns()).where(endpoints.c.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(endpoints.c.id < before_id)
    rows = (await conn.execute(query.order_by(endpoints.c.id.desc()).limit(limit))).mappings().all()
    return [_row(EndpointRow, row) for row in rows]


# One array parameter rather than IN (…): the same statement text for any number of tenants.
# Plain SQL, so that it also runs on psycopg itself where events are published.
_ENDPOINTS_OF_TENANTS = direct_statement(
    "SELECT id, tenant_id, url, description, event_types, secret, previous_secret,"
    " previous_secret_expires_at, status, disabled_reason, disabled_at, consecutive_failures,"
    " failing_since, created_at, updated_at"
    " FROM webhooks.endpoints WHERE tenant_id = ANY(CAST(:tenant_ids AS text[]))"
)


async def endpoints_of_tenants(conn: AnyConnection, tenant_ids: Sequence[str]) -> list[EndpointRow]:
    """Every endpoint of these tenants, enabled or not: a disabled endpoint still queues
    its deliveries, to be sent when it is enabled again."""
    rows = await rows_of(conn, _ENDPOINTS_OF_TENANTS, {"tenant_ids": list(tenant_ids)})
    return [_row(EndpointRow, row) for row in rows]


async def update_endpoint(conn: AsyncConnection, endpoint_id: str, changes: dict[str, Any]) -> EndpointRow:
    row = (
        (
            await conn.execute(
                update(endpoints)
                .where(endpoints.c.id == endpoint_id)
                .values(**changes, updated_at=func.now())
                .returning(*_endpoint_columns())
            )
        )
        .mappings()
        .one()
    )
    result: EndpointRow = _row(EndpointRow, row)
    return result


async def delete_endpoint(conn: AsyncConnection, endpoint_id: str) -> None:
    # Deliveries go by cascade; attempts have no foreign key (see schema.py).
    await conn.execute(delete(delivery_attempts).where(delivery_attempts.c.endpoint_id == endpoint_id))
    await conn.execute(delete(endpoints).where(endpoints.c.id == endpoint_id))


async def rearm_pending_deliveries(conn: AsyncConnection, endpoint_id: str) -> int:
    """On re-enable: every waiting delivery is due now, with a fresh retry schedule. One a
    dispatcher still holds under lease is left to it, so its result still applies."""
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.endpoint_id == endpoint_id,
            deliveries.c.status == PENDING,
            deliveries.c.claim_token.is_(None) | (deliveries.c.next_attempt_at <= func.now()),
        )
        .values(next_attempt_at=func.now(), schedule_position=0, run_started_at=func.now(), claim_token=None)
    )
    return int(result.rowcount or 0)


async def record_endpoint_successes(
    conn: AsyncConnection, endpoint_id: str, *, failures_after: int, first_failure_after: datetime | None
) -> None:
    """A batch of results with a success in it: the run of failures restarts from what
    followed the last success."""
    await conn.execute(
        update(endpoints)
        .where(
            endpoints.c.id == endpoint_id,
            # Skips the write in the common case of a healthy endpoint staying healthy.
            (endpoints.c.consecutive_failures != failures_after)
            | endpoints.c.failing_since.is_distinct_from(first_failure_after),
        )
        .values(consecutive_failures=failures_after, failing_since=first_failure_after)
    )


async def record_endpoint_failures(
    conn: AsyncConnection, endpoint_id: str, *, failures: int, first_failure_at: datetime
) -> tuple[int, datetime] | None:
    """A batch of failures only; returns the run of failures (length, start), or None
    when the endpoint is gone."""
    row = (
        await conn.execute(
            update(endpoints)
            .where(endpoints.c.id == endpoint_id)
            .values(
                consecutive_failures=endpoints.c.consecutive_failures + failures,
                failing_since=func.coalesce(endpoints.c.failing_since, first_failure_at),
            )
            .returning(endpoints.c.consecutive_failures, endpoints.c.failing_since)
        )
    ).first()
    return None if row is None else (int(row.consecutive_failures), row.failing_since)


async def disable_endpoint(conn: AsyncConnection, endpoint_id: str, reason: str) -> bool:
    result = await conn.execute(
        update(endpoints)
        .where(endpoints.c.id == endpoint_id, endpoints.c.status == ENABLED)
        .values(status=DISABLED, disabled_reason=reason, disabled_at=func.now(), updated_at=func.now())
    )
    return bool(result.rowcount)


# events


# Many rows as one JSON parameter (corelib.row_sets): one statement text for every batch
# size, which the driver converts and prepares once.
_INSERT_EVENTS = text(
    "INSERT INTO webhooks.events (id, tenant_id, event_type, data, created_at)"
    " SELECT r.id, r.tenant_id, r.event_type, r.data, r.created_at"
    " FROM json_to_recordset(CAST(:rows AS json))"
    " AS r(id text, tenant_id text, event_type text, data jsonb, created_at timestamptz)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Inserts the events not already stored (rows of id, tenant_id, event_type, data,
    created_at); returns the ids that were new, in the order of `rows`."""
    if not rows:
        return []
    result = await conn.execute(_INSERT_EVENTS, {"rows": json_rows(rows)})
    new = {str(event_id) for event_id in result.scalars().all()}
    return [row["id"] for row in rows if row["id"] in new]


_STORE_EVENTS = direct_statement(
    "WITH stored AS ("
    " INSERT INTO webhooks.events (id, tenant_id, event_type, data, created_at)"
    " SELECT r.id, r.tenant_id, r.event_type, r.data, r.created_at"
    " FROM json_to_recordset(CAST(:events AS json))"
    " AS r(id text, tenant_id text, event_type text, data jsonb, created_at timestamptz)"
    " ON CONFLICT (id) DO NOTHING RETURNING id),"
    " owed AS ("
    " INSERT INTO webhooks.deliveries"
    " (id, tenant_id, endpoint_id, event_id, trigger, status, next_attempt_at, run_started_at)"
    " SELECT d.id, d.tenant_id, d.endpoint_id, d.event_id, d.trigger, d.status, d.next_attempt_at,"
    " COALESCE(d.run_started_at, now())"
    " FROM json_to_recordset(CAST(:deliveries AS json)) AS d(id text, tenant_id text, endpoint_id text,"
    " event_id text, trigger text, status text, next_attempt_at timestamptz, run_started_at timestamptz)"
    " WHERE d.event_id IN (SELECT id FROM stored))"
    " SELECT id FROM stored"
)


async def store_events(
    conn: AnyConnection, rows: Sequence[dict[str, Any]], deliveries: Sequence[dict[str, Any]]
) -> list[str]:
    """Inserts the events not already stored (rows as `insert_events` takes them) and,
    of `deliveries` (rows as `insert_deliveries` takes them), those of the events that
    were new — one statement, so an event is never stored without the deliveries it
    owes, and a repeated event owes none again. The ids that were new, in the order of
    `rows`."""
    if not rows:
        return []
    stored = await rows_of(
        conn, _STORE_EVENTS, {"events": json_rows(rows), "deliveries": json_rows(deliveries)}
    )
    new = {str(row["id"]) for row in stored}
    return [row["id"] for row in rows if row["id"] in new]


async def get_event(conn: AsyncConnection, tenant_id: str, event_id: str) -> EventRow | None:
    row = (
        (
            await conn.execute(
                select(
                    events.c.id, events.c.tenant_id, events.c.event_type, events.c.data, events.c.created_at
                ).where(events.c.id == event_id, events.c.tenant_id == tenant_id)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _row(EventRow, row)


async def list_events(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    event_type: str,
    type_family: str,
    created_after: datetime | None,
    created_before: datetime | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[EventRow]:
    """Newest first. `event_type` matches exactly, `type_family` (`transaction.`) by prefix."""
    query = select(
        events.c.id, events.c.tenant_id, events.c.event_type, events.c.data, events.c.created_at
    ).where(events.c.tenant_id == tenant_id)
    if event_type:
        query = query.where(events.c.event_type == event_type)
    if type_family:
        query = query.where(events.c.event_type.startswith(type_family, autoescape=True))
    if created_after is not None:
        query = query.where(events.c.created_at >= created_after)
    if created_before is not None:
        query = query.where(events.c.created_at < created_before)
    if before is not None:
        query = query.where(tuple_(events.c.created_at, events.c.id) < tuple_(*before))
    query = query.order_by(events.c.created_at.desc(), events.c.id.desc()).limit(limit)
    return [_row(EventRow, row) for row in (await conn.execute(query)).mappings().all()]


async def prune_events(conn: AsyncConnection, *, older_than: datetime, limit: int) -> int:
    """Deletes up to `limit` events created before `older_than`, with their deliveries."""
    doomed = (
        select(events.c.id)
        .where(events.c.created_at < older_than)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await conn.execute(delete(events).where(events.c.id.in_(doomed)))
    return int(result.rowcount or 0)


async def prune_attempts(conn: AsyncConnection, *, older_than: datetime, limit: int) -> int:
    doomed = (
        select(delivery_attempts.c.id)
        .where(delivery_attempts.c.attempted_at < older_than)
        .limit(limit)
        .scalar_subquery()
    )
    result = await conn.execute(delete(delivery_attempts).where(delivery_attempts.c.id.in_(doomed)))
    return int(result.rowcount or 0)


# deliveries


_INSERT_DELIVERIES = text(
    "INSERT INTO webhooks.deliveries"
    " (id, tenant_id, endpoint_id, event_id, trigger, status, next_attempt_at, run_started_at)"
    " SELECT r.id, r.tenant_id, r.endpoint_id, r.event_id, r.trigger, r.status, r.next_attempt_at,"
    " COALESCE(r.run_started_at, now())"
    " FROM json_to_recordset(CAST(:rows AS json)) AS r(id text, tenant_id text, endpoint_id text,"
    " event_id text, trigger text, status text, next_attempt_at timestamptz, run_started_at timestamptz)"
)


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of id, tenant_id, endpoint_id, event_id, trigger, status, next_attempt_at (None:
    not due) and optionally run_started_at (the column's default: now)."""
    if rows:
        await conn.execute(_INSERT_DELIVERIES, {"rows": json_rows(rows)})


def _delivery_query() -> Any:
    return select(
        deliveries.c.id,
        deliveries.c.tenant_id,
        deliveries.c.endpoint_id,
        deliveries.c.event_id,
        events.c.event_type,
        deliveries.c.trigger,
        deliveries.c.status,
        deliveries.c.attempt_count,
        deliveries.c.next_attempt_at,
        deliveries.c.created_at,
        deliveries.c.completed_at,
    ).join(events, events.c.id == deliveries.c.event_id)


async def get_deliveries(conn: AsyncConnection, delivery_ids: Sequence[str]) -> list[DeliveryRow]:
    query = _delivery_query().where(deliveries.c.id.in_(delivery_ids)).order_by(deliveries.c.id.desc())
    return [_row(DeliveryRow, row) for row in (await conn.execute(query)).mappings().all()]


async def list_deliveries(
    conn: AsyncConnection,
    endpoint_id: str,
    *,
    event_id: str,
    status: str,
    before_id: str | None,
    limit: int,
) -> list[DeliveryRow]:
    query = _delivery_query().where(deliveries.c.endpoint_id == endpoint_id)
    if event_id:
        query = query.where(deliveries.c.event_id == event_id)
    if status:
        query = query.where(deliveries.c.status == status)
    if before_id is not None:
        query = query.where(deliveries.c.id < before_id)
    query = query.order_by(deliveries.c.id.desc()).limit(limit)
    return [_row(DeliveryRow, row) for row in (await conn.execute(query)).mappings().all()]


async def attempts_of(
    conn: AsyncConnection, delivery_ids: Sequence[str], *, per_delivery_max: int
) -> list[AttemptRow]:
    """The latest attempts of each delivery, newest first."""
    if not delivery_ids:
        return []
    ranked = (
        select(
            *[delivery_attempts.c[name] for name in AttemptRow.__dataclass_fields__],
            func.row_number()
            .over(
                partition_by=delivery_attempts.c.delivery_id,
                order_by=delivery_attempts.c.attempt_number.desc(),
            )
            .label("rank"),
        )
        .where(delivery_attempts.c.delivery_id.in_(delivery_ids))
        .subquery()
    )
    query = (
        select(*[ranked.c[name] for name in AttemptRow.__dataclass_fields__])
        .where(ranked.c.rank <= per_delivery_max)
        .order_by(ranked.c.delivery_id, ranked.c.attempt_number.desc())
    )
    return [_row(AttemptRow, row) for row in (await conn.execute(query)).mappings().all()]


# The dispatcher's claim. Candidates are taken endpoint by endpoint (a few per failing
# endpoint, more per healthy one, oldest due first), so one endpoint's backlog cannot
# fill a batch and starve the others; SKIP LOCKED lets replicas claim side by side; the
# claim is a lease (next_attempt_at moves to the lease's end), so a crashed dispatcher's
# work becomes due again by itself.
_CLAIM_SQL = text(
    """
WITH candidates AS (
    SELECT c.id, c.next_attempt_at
    FROM webhooks.endpoints e
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at
        FROM webhooks.deliveries d
        WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= now()
        ORDER BY d.next_attempt_at
        LIMIT CASE WHEN e.consecutive_failures > 0 THEN :per_failing_endpoint ELSE :per_endpoint END
    ) c
    WHERE e.status = 'enabled' AND NOT (e.id = ANY(CAST(:saturated AS text[])))
    ORDER BY c.next_attempt_at
    LIMIT :batch
),
locked AS (
    SELECT d.id
    FROM webhooks.deliveries d
    WHERE d.id IN (SELECT id FROM candidates) AND d.status = 'pending' AND d.next_attempt_at <= now()
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhooks.deliveries d
SET next_attempt_at = now() + make_interval(secs => :lease_s),
    claim_token = :claim_token,
    attempt_count = d.attempt_count + 1
FROM locked, webhooks.endpoints e, webhooks.events ev
WHERE d.id = locked.id AND e.id = d.endpoint_id AND ev.id = d.event_id
RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_id, d.trigger,
          d.attempt_count AS attempt_number, d.schedule_position, d.run_started_at, d.claim_token,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at,
          e.consecutive_failures > 0 AS endpoint_failing,
          ev.event_type, ev.data, ev.created_at AS event_created_at
"""
)


async def claim_due_deliveries(
    conn: AsyncConnection,
    *,
    limit: int,
    per_endpoint: int,
    per_failing_endpoint: int,
    saturated_endpoint_ids: Sequence[str],
    lease_s: float,
    claim_token: str,
) -> list[ClaimedDelivery]:
    rows = (
        (
            await conn.execute(
                _CLAIM_SQL,
                {
                    "batch": limit,
                    "per_endpoint": per_endpoint,
                    "per_failing_endpoint": per_failing_endpoint,
                    "saturated": list(saturated_endpoint_ids),
                    "lease_s": lease_s,
                    "claim_token": claim_token,
                },
            )
        )
        .mappings()
        .all()
    )
    return [_row(ClaimedDelivery, row) for row in rows]


async def claim_delivery(
    conn: AsyncConnection, delivery_id: str, *, lease_s: float, claim_token: str
) -> ClaimedDelivery | None:
    """Claims one delivery regardless of its due time (a test send)."""
    row = (
        (
            await conn.execute(
                text(
                    """
UPDATE webhooks.deliveries d
SET next_attempt_at = now() + make_interval(secs => :lease_s),
    claim_token = :claim_token,
    attempt_count = d.attempt_count + 1
FROM webhooks.endpoints e, webhooks.events ev
WHERE d.id = :id AND d.status = 'pending' AND e.id = d.endpoint_id AND ev.id = d.event_id
RETURNING d.id, d.tenant_id, d.endpoint_id, d.event_id, d.trigger,
          d.attempt_count AS attempt_number, d.schedule_position, d.run_started_at, d.claim_token,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at,
          e.consecutive_failures > 0 AS endpoint_failing,
          ev.event_type, ev.data, ev.created_at AS event_created_at
"""
                ),
                {"id": delivery_id, "lease_s": lease_s, "claim_token": claim_token},
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _row(ClaimedDelivery, row)


async def apply_delivery_updates(conn: AsyncConnection, updates: Sequence[DeliveryUpdate]) -> None:
    if not updates:
        return
    statement = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"), deliveries.c.claim_token == bindparam("b_claim_token"))
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next_attempt_at"),
            schedule_position=bindparam("b_schedule_position"),
            run_started_at=bindparam("b_run_started_at"),
            completed_at=bindparam("b_completed_at"),
            claim_token=None,
        )
    )
    ordered = sorted(updates, key=lambda u: u.id)
    await conn.execute(
        statement,
        [
            {
                "b_id": u.id,
                "b_claim_token": u.claim_token,
                "b_status": u.status,
                "b_next_attempt_at": u.next_attempt_at,
                "b_schedule_position": u.schedule_position,
                "b_run_started_at": u.run_started_at,
                "b_completed_at": u.completed_at,
            }
            for u in ordered
        ],
    )


async def release_claims(conn: AsyncConnection, released: Sequence[tuple[str, str]]) -> None:
    """Gives back claimed deliveries that were not attempted (id, claim token): due now,
    and the claim's attempt uncounted."""
    if not released:
        return
    statement = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"), deliveries.c.claim_token == bindparam("b_claim_token"))
        .values(next_attempt_at=func.now(), attempt_count=deliveries.c.attempt_count - 1, claim_token=None)
    )
    await conn.execute(
        statement, [{"b_id": delivery_id, "b_claim_token": token} for delivery_id, token in sorted(released)]
    )


async def insert_attempts(conn: AsyncConnection, attempts: Sequence[NewAttempt]) -> None:
    if attempts:
        await conn.execute(
            insert(delivery_attempts),
            [{name: getattr(a, name) for name in NewAttempt.__dataclass_fields__} for a in attempts],
        )
