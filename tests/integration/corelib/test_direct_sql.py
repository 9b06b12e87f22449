"""The psycopg pool of the statements every payment runs (corelib.direct_sql), on a real
PostgreSQL: statements in both forms, connections kept and bounded, a connection the
server dropped replaced, transactions that commit or roll back as a whole, commits that
need not wait for their flush, and the server a connection commits on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import text

from corelib.db import autocommit, create_engine, is_database_unavailable, libpq_url
from corelib.direct_sql import (
    DirectPool,
    DirectPoolTimeout,
    direct_statement,
    fetch_all,
    rows_of,
    server_identity,
)
from launcher.embedded_db import EmbeddedPostgres
from tests.harness.postgres import fresh_database

SCHEMA = "direct_sql_test"
PID = direct_statement("SELECT pg_backend_pid() AS pid")
ECHO = direct_statement(
    "SELECT :word AS word, CAST(:doc AS jsonb) AS doc, CAST('{\"a\": 1}' AS jsonb)::text AS literal,"
    " '100%' AS percent, CAST(:ids AS text[]) AS ids"
)
INSERT = direct_statement(f"INSERT INTO {SCHEMA}.notes (note) VALUES (:note) RETURNING id, note")  # noqa: S608
COUNT = direct_statement(f"SELECT count(*) AS n FROM {SCHEMA}.notes")  # noqa: S608


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[DirectPool]:
    engine = create_engine(database_url, application_name="direct-sql-test", pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.execute(
            text(f"CREATE TABLE {SCHEMA}.notes (id bigserial PRIMARY KEY, note text NOT NULL)")
        )
    pool = DirectPool(
        database_url, application_name="direct-sql-test", connections_max=2, checkout_timeout_s=0.5
    )
    yield pool
    await pool.close()
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await engine.dispose()


def test_statements_take_psycopgs_parameters_and_keep_casts_and_percent_signs() -> None:
    statement = direct_statement("SELECT CAST(:rows AS json), x::jsonb, :a_1, '5%' WHERE y = :rows")
    assert statement.sql == "SELECT CAST(%(rows)s AS json), x::jsonb, %(a_1)s, '5%%' WHERE y = %(rows)s"
    assert str(statement.clause) == "SELECT CAST(:rows AS json), x::jsonb, :a_1, '5%' WHERE y = :rows"


async def test_both_kinds_of_connection_read_the_same_rows(pool: DirectPool, database_url: str) -> None:
    parameters = {"word": "ünïcode", "doc": '{"amount": 100.5, "n": [1, 2]}', "ids": ["a", "b"]}
    async with pool.connection() as conn:
        direct = [dict(row) for row in await rows_of(conn, ECHO, parameters)]
    engine = create_engine(database_url, application_name="direct-sql-test", pool_size=1)
    try:
        async with autocommit(engine) as conn:
            through_sqlalchemy = [dict(row) for row in await rows_of(conn, ECHO, parameters)]
    finally:
        await engine.dispose()
    assert (
        direct
        == through_sqlalchemy
        == [
            {
                "word": "ünïcode",
                "doc": {"amount": 100.5, "n": [1, 2]},
                "literal": '{"a": 1}',
                "percent": "100%",
                "ids": ["a", "b"],
            }
        ]
    )


async def test_rows_come_back_only_from_statements_that_return_them(pool: DirectPool) -> None:
    async with pool.connection() as conn:
        inserted = await fetch_all(conn, INSERT, {"note": "kept"})
        assert [row["note"] for row in inserted] == ["kept"]
        assert await fetch_all(conn, direct_statement(f"DELETE FROM {SCHEMA}.notes WHERE false"), {}) == []  # noqa: S608
        assert await fetch_all(conn, direct_statement("SELECT 1 AS one WHERE false"), {}) == []
        assert await fetch_all(conn, direct_statement("SET LOCAL statement_timeout = 0"), {}) == []
        assert (await fetch_all(conn, COUNT, {}))[0]["n"] >= 1


async def test_a_missing_parameter_is_refused_before_the_database_sees_it(pool: DirectPool) -> None:
    async with pool.connection() as conn:
        with pytest.raises(psycopg.ProgrammingError, match="doc"):
            await fetch_all(conn, ECHO, {"word": "x", "ids": []})
        # The connection is still good for the next statement.
        assert (await fetch_all(conn, PID, {}))[0]["pid"] > 0


async def test_connections_are_kept_and_bounded(pool: DirectPool) -> None:
    async with pool.connection() as conn:
        first = (await fetch_all(conn, PID, {}))[0]["pid"]
    async with pool.connection() as conn:
        assert (await fetch_all(conn, PID, {}))[0]["pid"] == first
    async with pool.connection(), pool.connection():
        with pytest.raises(DirectPoolTimeout) as waited:
            async with pool.connection():
                pass
    assert is_database_unavailable(waited.value)


async def test_a_connection_the_server_dropped_is_replaced(pool: DirectPool, database_url: str) -> None:
    async with pool.connection() as a, pool.connection() as b:
        pids = [(await fetch_all(c, PID, {}))[0]["pid"] for c in (a, b)]
    # The server ends the one the pool lends next (a restart ends them all alike).
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
    with pytest.raises(psycopg.OperationalError) as dropped:
        async with pool.connection() as conn:
            await fetch_all(conn, PID, {})
    assert is_database_unavailable(dropped.value)
    # The dead one is gone, and the idle ones of its time with it: a fresh connection answers.
    async with pool.connection() as conn:
        assert (await fetch_all(conn, PID, {}))[0]["pid"] not in pids
    await asyncio.sleep(0)


async def test_a_transaction_commits_whole_or_not_at_all(pool: DirectPool) -> None:
    async with pool.transaction() as conn:
        await fetch_all(conn, INSERT, {"note": "one"})
        await fetch_all(conn, INSERT, {"note": "two"})
    with pytest.raises(RuntimeError):
        async with pool.transaction() as conn:
            await fetch_all(conn, INSERT, {"note": "three"})
            raise RuntimeError("the unit of work failed")
    async with pool.connection() as conn:
        assert (await fetch_all(conn, COUNT, {}))[0]["n"] == 2
        # Back in the pool in autocommit, outside any transaction.
        assert conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytest.fixture(scope="module")
def durable_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A second cluster, durable as the engine runs it (the session's is not)."""
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("durable-pg"), port=0)
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()


async def _synchronous_commit(pool: DirectPool) -> str:
    async with pool.connection() as conn:
        cursor = await conn.execute("SHOW synchronous_commit")
        row = await cursor.fetchone()
    assert row is not None
    return str(row["synchronous_commit"])


async def test_a_pool_may_commit_without_waiting_for_the_flush(durable_postgres: EmbeddedPostgres) -> None:
    url = durable_postgres.url()
    waiting = DirectPool(url, application_name="direct-sql-test", connections_max=1)
    unflushed = DirectPool(
        url, application_name="direct-sql-test", connections_max=1, commit_waits_for_flush=False
    )
    try:
        assert await _synchronous_commit(waiting) == "on"
        assert await _synchronous_commit(unflushed) == "off"
    finally:
        await waiting.close()
        await unflushed.close()


async def test_server_of_names_the_cluster_not_the_database(
    database_url: str, embedded_postgres: EmbeddedPostgres, durable_postgres: EmbeddedPostgres
) -> None:
    """Every database of a cluster shares one WAL, so one name; another cluster has its own."""
    other_database = fresh_database(embedded_postgres, "server_of")
    pools = [
        DirectPool(url, application_name="direct-sql-test", connections_max=1)
        for url in (database_url, other_database, durable_postgres.url())
    ]
    try:
        servers = []
        for pool in pools:
            async with pool.connection() as conn:
                servers.append(await pool.server_of(conn))
                assert await pool.server_of(conn) == servers[-1]
                assert await server_identity(conn) == servers[-1]
        assert servers[0] == servers[1] != servers[2]
        for server in servers:
            system_identifier, timeline = server.split("/")
            assert system_identifier.isdigit()
            assert int(timeline, 16) >= 1
    finally:
        for pool in pools:
            await pool.close()
