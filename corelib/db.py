"""The SQLAlchemy 2 engine (psycopg 3, asyncio) and unit-of-work sessions.

Each service owns one PostgreSQL schema; its tables declare that schema, so moving a
service to its own database later is a change of `PE_DATABASE_URL` only.

A pool survives a database restart: every checkout is pre-pinged (a connection the
server dropped is replaced, not handed out), and a statement that loses its connection
half-way is a transient failure (`is_database_unavailable`) the caller answers with
SERVICE_UNAVAILABLE, never a crash. Behind PgBouncer in transaction pooling mode
(docs/deploy.md) server-side prepared statements can be switched off with
`PE_DATABASE_PREPARED_STATEMENTS=false`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, Final, TypeVar

import orjson
import psycopg
from sqlalchemy import Table, exc, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

STATEMENT_TIMEOUT_MS: Final = 10_000
LOCK_TIMEOUT_MS: Final = 5_000
# A connection attempt to a database that is restarting fails fast instead of hanging.
CONNECT_TIMEOUT_S: Final = 5
# How long a request waits for a free pooled connection before it is a 503.
POOL_CHECKOUT_TIMEOUT_S: Final = 10
# A readiness check that waits longer than this says the database is away.
ANSWER_TIMEOUT_S: Final = 2.0

RowT = TypeVar("RowT")


def async_url(database_url: str) -> str:
    """Normalises any postgres URL to the psycopg 3 driver."""
    url = make_url(database_url)
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def sync_url(database_url: str) -> str:
    return async_url(database_url)


def libpq_url(database_url: str) -> str:
    """The plain `postgresql://` form that psql, pgbench and psycopg.connect accept."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def connect_args(application_name: str, *, prepared_statements: bool = True) -> dict[str, Any]:
    """psycopg connection arguments every pool of the engine uses."""
    args: dict[str, Any] = {
        "application_name": application_name,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}",
    }
    if not prepared_statements:
        # psycopg then never prepares server-side: right for a pooler that cannot carry
        # prepared statements from one server connection to the next.
        args["prepare_threshold"] = None
    return args


def create_engine(
    database_url: str, *, application_name: str, pool_size: int = 10, prepared_statements: bool = True
) -> AsyncEngine:
    return create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        # No ping per checkout (a round trip each): a connection that died with the server
        # fails its statement, the pool then drops every connection older than it, and the
        # caller gets 503 to retry with its Idempotency-Key (grpc_pipeline.unexpected_failure).
        pool_pre_ping=False,
        pool_timeout=POOL_CHECKOUT_TIMEOUT_S,
        connect_args=connect_args(application_name, prepared_statements=prepared_statements),
        json_deserializer=json_from_database,
    )


def json_from_database(text_value: str | bytes) -> Any:
    """A json/jsonb value read: orjson, several times faster than the json module psycopg
    uses by default (outbox payloads, stored answers, event data are read at the rate of
    payments). What orjson does not read — a number beyond a double, which jsonb can hold
    and Python's json turns into inf — the json module still does."""
    try:
        return orjson.loads(text_value)
    except orjson.JSONDecodeError:
        return json.loads(text_value)


async def database_answers(engine: AsyncEngine, timeout_s: float = ANSWER_TIMEOUT_S) -> bool:
    """Whether the database runs a trivial query within `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s), autocommit(engine) as conn:
            await conn.execute(text("SELECT 1"))
    except asyncio.CancelledError:
        raise
    except Exception:
        return False
    return True


class DatabaseUnavailable(Exception):
    """A pool of the engine's own had no connection to give in time."""


def is_database_unavailable(error: BaseException) -> bool:
    """A failure that says the database is (for now) out of reach — a dropped or refused
    connection, a server shutting down, a pool with no connection to give — rather than a
    fault of the request or of our code. Retrying later is the right answer to it."""
    if isinstance(error, exc.TimeoutError | DatabaseUnavailable):
        return True
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # Straight from psycopg (corelib.direct_sql), as SQLAlchemy would have wrapped it.
        return True
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError)
    return False


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One database transaction: commits when the block succeeds, rolls back otherwise."""
    async with engine.begin() as connection:
        yield connection


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose every statement is its own transaction. For a unit of work
    written as one statement, and for reads: one round trip where BEGIN, the statement
    and COMMIT (or ROLLBACK) would be three. Reads lose nothing by it: at READ COMMITTED
    the statements of one transaction share no snapshot either. Never for several writes
    that must commit together (that is `unit_of_work`)."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


# A row class's field names, looked up once: `fields()` builds its tuple on every call,
# and the payment path turns thousands of rows a second into dataclasses.
_field_names: dict[type[Any], tuple[str, ...]] = {}


def row_as(cls: type[RowT], mapping: Mapping[Any, Any]) -> RowT:
    """A repository's frozen dataclass from a result row, field by field."""
    names = _field_names.get(cls)
    if names is None:
        names = _field_names[cls] = tuple(field.name for field in fields(cls))  # type: ignore[arg-type]
    return cls(**{name: mapping[name] for name in names})


def columns_sql(cls: type[Any], alias: str) -> str:
    """`alias.field, …` for a text() statement: the dataclass's fields, never input."""
    return ", ".join(f"{alias}.{field.name}" for field in fields(cls))


def columns_of(table: Table, cls: type[Any]) -> list[Any]:
    """The table's columns that the dataclass holds, in its field order."""
    return [table.c[field.name] for field in fields(cls)]
