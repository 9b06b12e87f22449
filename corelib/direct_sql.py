"""The statements every payment runs, straight on psycopg.

SQLAlchemy stays the engine's way to its database: schemas, migrations and the many small
queries. A statement through its async layer costs about 240 µs of CPU, though (a pool
checkout that sets and resets the isolation level, the greenlet hop, the result wrapped
row by row), where psycopg on a connection already held costs about 45 µs. The few
statements run at the rate of payments — a payment's creation and its outcome, a balance
read — take connections from a `DirectPool` instead: psycopg connections of their own,
kept open and in autocommit (each of these statements is a unit of work by itself),
lent to one caller at a time.

Every one of these statements finds its rows by a key. They are prepared, and PostgreSQL
keeps the generic plan it settles on for each; made while a table was young (a new
engine's first minute, before autovacuum first analyzed it), that plan scanned the whole
table, and went on scanning it as the table grew. The pool's connections therefore run
with sequential scans off: a young table is then read through its keys too, and a table
without a usable index is still scanned.

A statement may commit without waiting for the WAL flush (`commit_cte`), for a
record whose durability a later synchronous commit on the same server provides:
PostgreSQL writes one WAL in order, so flushing a commit flushes every commit before it.
The statement sets this for its own transaction and names the server it commits on, so
that the caller can check that the later commit is on the same one. Both travel inside
the statement, so they hold through PgBouncer in transaction pooling (which passes no
connection options to the server, and may move a client to another server between
transactions, after a failover).

The SQL stays where it is written, in its service's repository, with SQLAlchemy's
`:name` parameters; `direct_statement` turns it into psycopg's `%(name)s` once, at import.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_loads
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from corelib.db import (
    POOL_CHECKOUT_TIMEOUT_S,
    DatabaseUnavailable,
    connect_args,
    json_from_database,
    libpq_url,
)

# A `:name` parameter, not the second colon of a `::type` cast.
_PARAMETER: Final = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
CONNECTIONS_MAX_LIMIT: Final = 64
_ROWS_RETURNED: Final = psycopg.pq.ExecStatus.TUPLES_OK
# Planner settings of the pool's connections (the module's docstring says why).
KEYED_PLANS_OPTION: Final = "-c enable_seqscan=off"
# The server a transaction commits on: its cluster's identifier, which every server of the
# cluster shares, and the timeline of its WAL, which a promoted standby changes.
_SERVER_IDENTITY_SQL: Final = """
    SELECT s.system_identifier::text || '/' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8)
    FROM pg_control_system() AS s
    """

DirectConnection: TypeAlias = "psycopg.AsyncConnection[DictRow]"
# What a repository function that serves both kinds of caller takes.
AnyConnection: TypeAlias = "AsyncConnection | DirectConnection"


@dataclass(frozen=True)
class DirectStatement:
    """A statement in psycopg's form, and as SQLAlchemy's `text()` for a caller that runs
    it inside a SQLAlchemy unit of work."""

    sql: str
    clause: TextClause


def direct_statement(sql: str) -> DirectStatement:
    """SQL written with SQLAlchemy's `:name` parameters, in psycopg's `%(name)s` form (a
    literal `%` doubled)."""
    return DirectStatement(_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%")), text(sql))


async def rows_of(
    conn: AnyConnection, statement: DirectStatement, parameters: Mapping[str, Any]
) -> Sequence[Mapping[Any, Any]]:
    """The statement's rows on either kind of connection: a repository function serves
    the callers on psycopg and those inside a SQLAlchemy unit of work alike."""
    if isinstance(conn, AsyncConnection):
        result = await conn.execute(statement.clause, parameters)
        return result.mappings().all() if result.returns_rows else []
    return await fetch_all(conn, statement, parameters)


def commit_cte(name: str, *, unflushed: bool) -> str:
    """A CTE for a statement run as a transaction of its own (a pool connection's
    autocommit). Scanned, it gives the server that transaction commits on (column
    `server`), and with `unflushed` makes its commit answer once its WAL is written,
    before it is flushed.

    PostgreSQL reads `synchronous_commit` when the transaction commits, and the setting
    is local to it. A CTE runs only when scanned: a statement scans this one from its
    RETURNING (`(SELECT server FROM name)`), so the setting takes effect exactly when the
    statement wrote and returns a row; one that wrote nothing has nothing to flush."""
    setting = "set_config('synchronous_commit', 'off', true)" if unflushed else "NULL"
    return f"{name} AS MATERIALIZED (SELECT {setting} AS setting, ({_SERVER_IDENTITY_SQL}) AS server)"


async def server_identity(conn: DirectConnection) -> str:
    """The server the connection's current transaction commits on, as `system
    identifier/timeline`. Asked inside the transaction it is about: behind PgBouncer in
    transaction pooling, one transaction and the next may run on different servers."""
    cursor = await conn.execute(_SERVER_IDENTITY_SQL)
    row = await cursor.fetchone()
    assert row is not None
    return str(next(iter(row.values())))


class DirectPoolTimeout(DatabaseUnavailable):
    """No connection came free (or could be opened) in time: the database is away or busy."""


async def fetch_all(
    conn: DirectConnection, statement: DirectStatement, parameters: Mapping[str, Any]
) -> list[DictRow]:
    """The statement's rows as dicts (none for a statement without RETURNING). psycopg
    refuses a missing parameter before anything is sent."""
    async with conn.cursor() as cursor:
        await cursor.execute(statement.sql, parameters)
        # The result's status, not `cursor.description`: that builds a Column object
        # per column on every call, for a yes or no.
        result = cursor.pgresult
        if result is None or result.status != _ROWS_RETURNED:
            return []
        return await cursor.fetchall()


class DirectPool:
    """At most `connections_max` psycopg connections in autocommit, opened when first
    needed and kept. A connection that broke is dropped when it comes back; one that
    failed with the server gone takes every idle one with it (they are as dead)."""

    def __init__(
        self,
        database_url: str,
        *,
        application_name: str,
        connections_max: int,
        prepared_statements: bool = True,
        checkout_timeout_s: float = POOL_CHECKOUT_TIMEOUT_S,
    ) -> None:
        if not 1 <= connections_max <= CONNECTIONS_MAX_LIMIT:
            raise ValueError(f"connections_max must be 1..{CONNECTIONS_MAX_LIMIT}")
        self._conninfo = libpq_url(database_url)
        args = connect_args(application_name, prepared_statements=prepared_statements)
        self._args = {**args, "options": f"{args['options']} {KEYED_PLANS_OPTION}"}
        self._checkout_timeout_s = checkout_timeout_s
        self._free = asyncio.Semaphore(connections_max)
        self._idle: list[DirectConnection] = []
        self._generation = 0
        # Closing connections (the event loop keeps only weak references to tasks).
        self._closing: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[DirectConnection]:
        if self._free.locked():
            try:
                async with asyncio.timeout(self._checkout_timeout_s):
                    await self._free.acquire()
            except TimeoutError as exc:
                raise DirectPoolTimeout(
                    f"no database connection within {self._checkout_timeout_s} s"
                ) from exc
        else:
            # A connection is free: taken at once, without arming a timer that every
            # checkout would only cancel.
            await self._free.acquire()
        try:
            generation = self._generation
            conn = self._idle.pop() if self._idle else await self._open()
            try:
                yield conn
            except psycopg.OperationalError:
                if conn.broken:
                    # The server went away (a restart): the idle connections went with it.
                    self._drop_idle()
                raise
            finally:
                self._give_back(conn, generation)
        finally:
            self._free.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[DirectConnection]:
        """One database transaction on a connection of the pool: commits when the block
        succeeds, rolls back otherwise."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def _open(self) -> DirectConnection:
        try:
            async with asyncio.timeout(self._checkout_timeout_s):
                conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, row_factory=dict_row, **self._args
                )
        except TimeoutError as exc:
            raise DirectPoolTimeout(f"no database connection within {self._checkout_timeout_s} s") from exc
        set_json_loads(json_from_database, conn)
        return conn

    def _give_back(self, conn: DirectConnection, generation: int) -> None:
        usable = (
            not conn.closed
            and not conn.broken
            and generation == self._generation
            and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        )
        if usable:
            self._idle.append(conn)
        else:
            self._discard(conn)

    def _drop_idle(self) -> None:
        self._generation += 1
        idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)

    def _discard(self, conn: DirectConnection) -> None:
        task = asyncio.get_running_loop().create_task(conn.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True)
