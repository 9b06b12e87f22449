"""The transactional outbox: a producing service writes each event into its own schema's
`outbox` table in the same DB transaction as the state change that causes it, so an
event exists exactly when its change does. A relay (corelib.outbox_relay) hands
unpublished rows to the webhooks service, idempotent by event id.

A producer needs three things from here:

    # schema.py
    outbox = outbox_table(metadata)
    # migrations/versions/000x_….py, inside upgrade()
    create_outbox_table("accounts")
    # the use case, inside its unit of work
    await record_event(conn, outbox, tenant_id=…, event_type="account.balance.updated", data={…})

This module also holds the relay's SQL (claim and mark), so the table's queries live
beside its definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    MetaData,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from corelib.direct_sql import AnyConnection, DirectStatement, direct_statement, rows_of
from corelib.ids import new_id
from corelib.row_sets import json_rows

OUTBOX_TABLE: Final = "outbox"
EVENT_TYPE_LENGTH_MAX: Final = 100
# `transaction.completed`, `account.balance.updated`: lower-case dotted words.
EVENT_TYPE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# The JSON of one event's data; the webhooks service refuses larger ones, so a producer
# fails here, at write time, rather than blocking its relay later.
EVENT_DATA_BYTES_MAX: Final = 64 * 1024
TENANT_ID_LENGTH_MAX: Final = 64


def _columns() -> list[Any]:
    return [
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Text, nullable=False, unique=True),
        Column("tenant_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        # The event's `data` object, exactly as integrators receive it.
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        # Never set: a published row is deleted. Kept for the rows of older releases.
        Column("published_at", DateTime(timezone=True)),
    ]


def outbox_table(metadata: MetaData) -> Table:
    return Table(OUTBOX_TABLE, metadata, *_columns())


def create_outbox_table(schema: str) -> None:
    """For a service's first Alembic migration: creates `<schema>.outbox` as it was first
    released, with an index on unpublished rows that a later migration of each service
    drops (published rows are deleted, so it only repeated the primary key)."""
    from alembic import op  # noqa: PLC0415 — only migrations need alembic's op proxy

    op.create_table(OUTBOX_TABLE, *_columns(), schema=schema)
    op.create_index(
        f"{OUTBOX_TABLE}_unpublished_idx",
        OUTBOX_TABLE,
        ["id"],
        schema=schema,
        postgresql_where=text("published_at IS NULL"),
    )


def validate_event(*, tenant_id: str, event_type: str, data: dict[str, Any]) -> None:
    """The shape every published event has; the webhooks service checks the same."""
    if not tenant_id or len(tenant_id) > TENANT_ID_LENGTH_MAX:
        raise ValueError(f"bad tenant id {tenant_id!r}")
    if len(event_type) > EVENT_TYPE_LENGTH_MAX or not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(f"bad event type {event_type!r}")
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > EVENT_DATA_BYTES_MAX:
        raise ValueError(f"event data of {size} bytes exceeds {EVENT_DATA_BYTES_MAX}")


async def record_event(
    conn: AsyncConnection, table: Table, *, tenant_id: str, event_type: str, data: dict[str, Any]
) -> str:
    """Writes one event in the caller's unit of work; returns its evt_ id."""
    validate_event(tenant_id=tenant_id, event_type=event_type, data=data)
    event_id = new_id("evt")
    await conn.execute(
        insert(table).values(event_id=event_id, tenant_id=tenant_id, event_type=event_type, payload=data)
    )
    await conn.execute(select(func.pg_notify(outbox_channel(table), "")))
    return event_id


@dataclass(frozen=True)
class NewEvent:
    """An event to record, as a batch records many in one statement."""

    tenant_id: str
    event_type: str
    data: dict[str, Any]
    # What the event is about (a transaction id), for statements that record an event
    # only if its subject's change took effect (`insert_events_sql`'s condition).
    subject_id: str = ""


_known_event_types: set[str] = set()
_insert_many_by_table: dict[str, DirectStatement] = {}


def _insert_many(table: Table) -> DirectStatement:
    statement = _insert_many_by_table.get(table.fullname)
    if statement is None:
        # The insert and the relay's wake-up in one statement; PostgreSQL delivers the
        # notification when the transaction commits, and folds repeats into one.
        recorded = insert_events_sql(table, "rows")
        statement = direct_statement(
            f"WITH recorded AS ({recorded}) SELECT {wake_relay_sql(table, 'recorded')} AS relay_woken"
        )
        _insert_many_by_table[table.fullname] = statement
    return statement


def event_rows(events: Sequence[NewEvent]) -> list[dict[str, Any]]:
    """The events checked and given their evt_ ids, as the rows `insert_events_sql` reads."""
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.event_type not in _known_event_types:
            validate_event(tenant_id=event.tenant_id, event_type=event.event_type, data={})
            _known_event_types.add(event.event_type)
        if not event.tenant_id or len(event.tenant_id) > TENANT_ID_LENGTH_MAX:
            raise ValueError(f"bad tenant id {event.tenant_id!r}")
        payload = orjson.dumps(event.data)
        if len(payload) > EVENT_DATA_BYTES_MAX:
            raise ValueError(f"event data of {len(payload)} bytes exceeds {EVENT_DATA_BYTES_MAX}")
        rows.append(
            {
                "event_id": new_id("evt"),
                "tenant_id": event.tenant_id,
                "event_type": event.event_type,
                # Encoded once: the row set embeds the JSON as it is.
                "payload": orjson.Fragment(payload),
                "subject_id": event.subject_id,
            }
        )
    return rows


def insert_events_sql(table: Table, rows_parameter: str, *, condition: str = "TRUE") -> str:
    """A statement (for a data-modifying WITH) that records the events of the JSON rows
    parameter (`event_rows`) for which `condition` holds, over `n.subject_id` and the
    other columns of `n`; RETURNING 1 per event recorded."""
    return (
        f"INSERT INTO {table.fullname} (event_id, tenant_id, event_type, payload)"  # noqa: S608 — a table name
        " SELECT n.event_id, n.tenant_id, n.event_type, n.payload"
        f" FROM json_to_recordset(CAST(:{rows_parameter} AS json))"
        " AS n(event_id text, tenant_id text, event_type text, payload jsonb, subject_id text)"
        f" WHERE {condition} RETURNING 1"
    )


def wake_relay_sql(table: Table, recorded: str) -> str:
    """A scalar subquery that wakes the relay once if the CTE `recorded` wrote an event.
    PostgreSQL delivers the notification when the transaction commits."""
    channel = outbox_channel(table)
    return f"(SELECT pg_notify('{channel}', '') FROM (SELECT 1 FROM {recorded} LIMIT 1) AS any_event)"  # noqa: S608 — names


async def record_events(conn: AnyConnection, table: Table, events: Sequence[NewEvent]) -> list[str]:
    """Writes many events in the caller's unit of work with one statement; their evt_ ids."""
    if not events:
        return []
    rows = event_rows(events)
    await rows_of(conn, _insert_many(table), {"rows": json_rows(rows)})
    return [str(row["event_id"]) for row in rows]


@dataclass(frozen=True)
class OutboxEvent:
    """One outbox row, as the relay hands it to `publish`."""

    row_id: int
    event_id: str
    tenant_id: str
    event_type: str
    # The data as the JSON text the row holds: the relay passes it on as it is, and only
    # a reader that needs the values parses it (`data`).
    data_json: bytes
    created_at: datetime

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.data_json)
        return data


_take_oldest_by_table: dict[str, DirectStatement] = {}


def take_oldest_statement(table: Table) -> DirectStatement:
    """The rows are chosen once, in a MATERIALIZED CTE: as `id IN (SELECT … LIMIT n FOR
    UPDATE SKIP LOCKED)` the planner may run the subquery again for each outer row it
    visits — on a large outbox after a burst it deleted (and handed on) more than `n`
    rows, which the webhooks service refused as a whole, and scanned long enough to
    reach the statement timeout. The delete then finds them by primary key through an
    array built once: joined to the CTE (whose size the planner cannot know) it may
    instead walk the whole outbox and compare each row with every chosen id."""
    statement = _take_oldest_by_table.get(table.fullname)
    if statement is None:
        statement = direct_statement(
            f"WITH picked AS MATERIALIZED ("  # noqa: S608 — a table name
            f" SELECT id FROM {table.fullname} WHERE id > :after_id ORDER BY id LIMIT :limit"
            " FOR UPDATE SKIP LOCKED)"
            f" DELETE FROM {table.fullname} AS o WHERE o.id = ANY(ARRAY(SELECT id FROM picked))"
            # The payload as text: parsing it here would only have it encoded again.
            " RETURNING o.id, o.event_id, o.tenant_id, o.event_type, o.payload::text AS payload, o.created_at"
        )
        _take_oldest_by_table[table.fullname] = statement
    return statement


async def take_unpublished(
    conn: AnyConnection, table: Table, *, limit: int, after_id: int = 0
) -> list[OutboxEvent]:
    """Removes and returns the oldest unpublished rows with an id above `after_id`, in
    this transaction: if the transaction rolls back (the publish failed), they are back.
    SKIP LOCKED lets relay replicas take disjoint batches instead of queueing behind one
    another; the webhooks service keeps the events themselves, so nothing is kept here
    once published."""
    rows = await rows_of(conn, take_oldest_statement(table), {"after_id": after_id, "limit": limit})
    events = [
        OutboxEvent(
            row_id=row["id"],
            event_id=row["event_id"],
            tenant_id=row["tenant_id"],
            event_type=row["event_type"],
            data_json=row["payload"].encode(),
            created_at=row["created_at"],
        )
        for row in rows
    ]
    events.sort(key=lambda event: event.row_id)
    return events


def outbox_channel(table: Table) -> str:
    """The NOTIFY channel that wakes `table`'s relay."""
    return f"pe_outbox_{table.schema or 'public'}"
