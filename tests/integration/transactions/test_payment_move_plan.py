"""The payment path's statements are prepared, and PostgreSQL keeps the generic plan it
settles on for each. Planned while the payments table was young, the move of a batch of
payments scanned the whole table, and went on scanning it as the table grew, until
autovacuum first analyzed it. The payment path's connections (corelib.direct_sql) plan
it on the primary key from the start: this grows the table under a prepared move and
counts the rows PostgreSQL read by scanning it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import psycopg
import pytest
from psycopg.rows import DictRow, dict_row

from corelib.db import libpq_url
from corelib.direct_sql import DirectConnection, DirectPool
from launcher.embedded_db import EmbeddedPostgres
from services.transactions import lifecycle, repository
from services.transactions.repository import StepMove
from tests.harness.postgres import migrated_database

GROWN_TO: Final = 20_000
# psycopg prepares a statement on its fifth run; PostgreSQL settles on a generic plan
# after five more.
RUNS_BEFORE_GENERIC_PLAN: Final = 12

_GROW = f"""
    INSERT INTO transactions.transactions
        (id, tenant_id, payer_tenant_id, payee_tenant_id, from_account_id, to_account_id, payment_type,
         amount_minor, currency_code, description, status, saga_step)
    SELECT 'txn_grown_' || n, 'ten_a', 'ten_a', 'ten_a', 'acc_1', 'acc_2', 'RTP', 100, 'USD',
           repeat('d', 200), 'COMPLETED', 'posted'
    FROM generate_series(1, {GROWN_TO}) AS n
"""  # noqa: S608 — a constant

Move = Callable[[], Awaitable[None]]


def _scanned_rows(url: str) -> tuple[int, bool]:
    """Rows read by scanning the payments table so far, and whether it was analyzed."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT seq_tup_read, coalesce(last_autoanalyze, last_analyze) IS NOT NULL"
            " FROM pg_stat_user_tables WHERE schemaname = 'transactions' AND relname = 'transactions'"
        ).fetchone()
    assert row is not None
    return int(row[0]), bool(row[1])


async def _move_missing_payment(conn: DirectConnection) -> None:
    move = StepMove(
        id="txn_not_there",
        expected_step=lifecycle.HOLD_REQUESTED,
        status=lifecycle.COMPLETED,
        saga_step=lifecycle.POSTED,
    )
    assert await repository.finish_creates(conn, [move], [], [], []) == {}
    # Its reads are counted in the table's statistics now, not up to a second later.
    await conn.execute("SELECT pg_stat_force_next_flush()")


async def _rows_scanned_by_a_move_once_grown(url: str, conn: DirectConnection) -> int | None:
    """Prepares the move while the table is empty, grows the table, and moves again: the
    rows that move read by scanning, or None if autovacuum analyzed the table meanwhile
    (the plan was then made again, and the scan shows nothing)."""
    for _ in range(RUNS_BEFORE_GENERIC_PLAN):
        await _move_missing_payment(conn)
    with psycopg.connect(libpq_url(url), autocommit=True) as grower:
        grower.execute(_GROW)
    before, _ = _scanned_rows(url)
    await _move_missing_payment(conn)
    after, analyzed = _scanned_rows(url)
    # The move ran as a statement prepared before the table grew, not planned afresh.
    prepared = await conn.execute(
        "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%WITH moved AS%'"
    )
    assert await prepared.fetchone() == {"n": 1}
    return None if analyzed else after - before


@pytest.fixture
def young_payments_table(embedded_postgres: EmbeddedPostgres) -> str:
    return migrated_database(embedded_postgres, "move_plan")


async def test_a_move_planned_on_a_young_table_scans_it_on_a_plain_connection(
    young_payments_table: str,
) -> None:
    """Why the pool's setting exists: the same statement, prepared the same way, on a
    connection with PostgreSQL's defaults."""
    async with await psycopg.AsyncConnection[DictRow].connect(
        libpq_url(young_payments_table), autocommit=True, row_factory=dict_row
    ) as conn:
        scanned = await _rows_scanned_by_a_move_once_grown(young_payments_table, conn)
    if scanned is not None:
        assert scanned >= GROWN_TO


async def test_the_payment_paths_connections_move_payments_by_their_key_from_the_start(
    young_payments_table: str,
) -> None:
    pool = DirectPool(young_payments_table, application_name="move-plan-test", connections_max=1)
    try:
        async with pool.connection() as conn:
            scanned = await _rows_scanned_by_a_move_once_grown(young_payments_table, conn)
    finally:
        await pool.close()
    assert scanned in (0, None)
