"""The payment path's statements are prepared, and PostgreSQL keeps the plan it made for
each. A plan made while the payments table was young scans the whole table for every
batch of moves, and keeps doing so as the table grows, until autovacuum first analyzes
it. The engine's PostgreSQL looks for such tables every 10 s; this shows the move of a
batch of payments back on the primary key within that time."""

from __future__ import annotations

import asyncio
import time
from typing import Final

import psycopg

from corelib.db import libpq_url
from corelib.direct_sql import DirectPool
from launcher.embedded_db import EmbeddedPostgres
from services.transactions import lifecycle, repository
from services.transactions.repository import StepMove
from tests.harness.postgres import migrated_database

GROWN_TO: Final = 20_000
# Autovacuum visits every 10 s; it analyzes the table on its first or second visit.
ANALYZED_WITHIN_S: Final = 45.0
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


def _table_scans(url: str) -> tuple[int, object]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT seq_tup_read, last_autoanalyze FROM pg_stat_user_tables"
            " WHERE schemaname = 'transactions' AND relname = 'transactions'"
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


async def _move_missing_payment(pool: DirectPool) -> None:
    move = StepMove(
        id="txn_not_there",
        expected_step=lifecycle.HOLD_REQUESTED,
        status=lifecycle.COMPLETED,
        saga_step=lifecycle.POSTED,
    )
    async with pool.connection() as conn:
        assert await repository.finish_creates(conn, [move], [], [], []) == {}
        # Its scans are counted in the table's statistics at once, not up to a second later.
        await conn.execute("SELECT pg_stat_force_next_flush()")


async def test_moves_use_the_primary_key_once_the_grown_table_is_analyzed(
    embedded_postgres: EmbeddedPostgres,
) -> None:
    url = migrated_database(embedded_postgres, "move_plan")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        assert conn.execute("SHOW autovacuum_naptime").fetchone() == ("10s",)
    pool = DirectPool(url, application_name="move-plan-test", connections_max=1)
    try:
        for _ in range(RUNS_BEFORE_GENERIC_PLAN):
            await _move_missing_payment(pool)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(_GROW)
        # Before: the plan of the young table reads every row to move one payment.
        scanned_before, _ = _table_scans(url)
        await _move_missing_payment(pool)
        scanned_after, analyzed_at = _table_scans(url)
        if analyzed_at is None:
            assert scanned_after - scanned_before >= GROWN_TO
        started = time.monotonic()
        while _table_scans(url)[1] is None:
            assert time.monotonic() - started < ANALYZED_WITHIN_S, "autovacuum did not analyze the table"
            await asyncio.sleep(0.5)
        # The same connection, the same prepared statement: planned again, on the key.
        scanned_before, _ = _table_scans(url)
        for _ in range(3):
            await _move_missing_payment(pool)
        scanned_after, _ = _table_scans(url)
        assert scanned_after == scanned_before
    finally:
        await pool.close()
