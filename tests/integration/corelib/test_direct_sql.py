"""The psycopg pool of the statements every payment runs (corelib.direct_sql), on a real
PostgreSQL: statements in both forms, connections kept and bounded, a connection the
server dropped replaced, transactions that commit or roll back as a whole, a statement
whose commit need not wait for its flush, and the server a transaction commits on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import text

from corelib.db import autocommit, create_engine, is_database_unavailable, libpq_url
from corelib.direct_sql import (
    DirectPool,
    DirectPoolTimeout,
    DirectStatement,
    commit_cte,
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
    """A second cluster, durable as the engine runs it (the session's is not), whose WAL
    writer flushes an unflushed commit only every 10 s: seen right after its commit, such
    a commit is still unflushed."""
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("durable-pg"), port=0)
    postgres.start()
    try:
        with psycopg.connect(libpq_url(postgres.url()), autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(f"CREATE SCHEMA {SCHEMA}")
            admin.execute(f"CREATE TABLE {SCHEMA}.notes (id bigserial PRIMARY KEY, note text NOT NULL)")
        yield postgres
    finally:
        postgres.stop()


@dataclass(frozen=True)
class Committed:
    server: str
    flushed: bool
    synchronous_commit_after: str


def _noted(unflushed: bool) -> DirectStatement:
    # The WAL position before the commit record: a flushed commit is flushed past it.
    return direct_statement(
        f"""WITH {commit_cte("committing", unflushed=unflushed)}
        INSERT INTO {SCHEMA}.notes (note) VALUES (:note)
        RETURNING pg_current_wal_insert_lsn()::text AS written_to, (SELECT server FROM committing) AS server
        """  # noqa: S608
    )


async def commit_a_note(url: str, *, unflushed: bool, prepared_statements: bool = True) -> list[Committed]:
    """A note written five times by the statement, each time with whether its commit was
    found flushed right after it answered."""
    pool = DirectPool(
        url, application_name="direct-sql-test", connections_max=1, prepared_statements=prepared_statements
    )
    committed = []
    try:
        async with pool.connection() as conn:
            for attempt in range(5):
                row = (await fetch_all(conn, _noted(unflushed), {"note": f"note {attempt}"}))[0]
                cursor = await conn.execute(
                    "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn AS flushed,"
                    " current_setting('synchronous_commit') AS setting",
                    (row["written_to"],),
                )
                after = await cursor.fetchone()
                assert after is not None
                committed.append(Committed(row["server"], after["flushed"], after["setting"]))
    finally:
        await pool.close()
    return committed


async def server_at(url: str) -> str:
    pool = DirectPool(url, application_name="direct-sql-test", connections_max=1)
    try:
        async with pool.connection() as conn:
            return await server_identity(conn)
    finally:
        await pool.close()


async def test_a_statement_may_commit_without_waiting_for_its_flush(
    durable_postgres: EmbeddedPostgres,
) -> None:
    url = durable_postgres.url()
    flushed = await commit_a_note(url, unflushed=False)
    unflushed = await commit_a_note(url, unflushed=True)
    assert all(c.flushed for c in flushed), flushed
    # The WAL writer may happen to flush one between the answer and the look.
    assert sum(not c.flushed for c in unflushed) >= 4, unflushed
    # The setting was the statement's transaction's alone.
    assert {c.synchronous_commit_after for c in flushed + unflushed} == {"on"}
    assert {c.server for c in flushed + unflushed} == {await server_at(url)}


async def test_a_statement_that_wrote_nothing_names_no_server(pool: DirectPool) -> None:
    nothing = direct_statement(
        f"""WITH {commit_cte("committing", unflushed=True)}
        UPDATE {SCHEMA}.notes SET note = 'x' WHERE false RETURNING (SELECT server FROM committing) AS server
        """  # noqa: S608
    )
    async with pool.connection() as conn:
        assert await fetch_all(conn, nothing, {}) == []


async def test_the_server_names_the_cluster_not_the_database(
    database_url: str, embedded_postgres: EmbeddedPostgres, durable_postgres: EmbeddedPostgres
) -> None:
    """Every database of a cluster shares one WAL, so one name; another cluster has its own."""
    other_database = fresh_database(embedded_postgres, "server_of")
    servers = []
    for url in (database_url, other_database, durable_postgres.url()):
        servers.append(await server_at(url))
    assert servers[0] == servers[1] != servers[2]
    for server in servers:
        system_identifier, timeline = server.split("/")
        assert system_identifier.isdigit()
        assert int(timeline, 16) >= 1
