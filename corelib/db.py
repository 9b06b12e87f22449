"""The SQLAlchemy 2 engine (psycopg 3, asyncio) and unit-of-work sessions.

Each service owns one PostgreSQL schema; its tables declare that schema, so moving a
service to its own database later is a change of `PE_DATABASE_URL` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any, Final, TypeVar

from sqlalchemy import Table, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

STATEMENT_TIMEOUT_MS: Final = 10_000
LOCK_TIMEOUT_MS: Final = 5_000

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


def create_engine(database_url: str, *, application_name: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={
            "application_name": application_name,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}",
        },
    )


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One database transaction: commits when the block succeeds, rolls back otherwise."""
    async with engine.begin() as connection:
        yield connection


def row_as(cls: type[RowT], mapping: Mapping[Any, Any]) -> RowT:
    """A repository's frozen dataclass from a result row, field by field."""
    return cls(**{field.name: mapping[field.name] for field in fields(cls)})  # type: ignore[arg-type]


def columns_of(table: Table, cls: type[Any]) -> list[Any]:
    """The table's columns that the dataclass holds, in its field order."""
    return [table.c[field.name] for field in fields(cls)]
