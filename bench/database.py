"""The benchmark's own SQL, all of it: reading server settings, and counting what the
payments scenarios produced. The load itself never touches the database directly — it
goes through the engine's HTTP and gRPC APIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import psycopg

CONNECT_TIMEOUT_S: Final = 10
# Settings that decide how fast a durable commit is, and so what pgbench and the engine
# can reach; printed with every run.
REPORTED_SETTINGS: Final = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "wal_level",
    "commit_delay",
    "shared_buffers",
    "max_connections",
    "max_wal_size",
    "checkpoint_timeout",
    "work_mem",
)
# The payment states a payment cannot leave (services/transactions/lifecycle.py).
FINAL_STATUSES: Final = ("COMPLETED", "FAILED", "CANCELED", "REJECTED")
# Latency samples fetched per query; far above a run's payments.
LATENCY_ROWS_MAX: Final = 2_000_000
# pg_stat_activity rows read per sample.
ACTIVITY_ROWS_MAX: Final = 1000


async def connect(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


async def server_settings(url: str) -> dict[str, str]:
    async with await connect(url) as conn:
        cursor = await conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(REPORTED_SETTINGS),)
        )
        rows = await cursor.fetchall()
    found = {
        str(name): f"{setting}{'' if unit in (None, '') else ' ' + str(unit)}" for name, setting, unit in rows
    }
    return {name: found[name] for name in REPORTED_SETTINGS if name in found}


async def checkpoint(url: str) -> None:
    """Flushes the dirty pages pgbench's initialisation left, so that the first engine
    scenario does not pay for them."""
    async with await connect(url) as conn:
        await conn.execute("CHECKPOINT")


@dataclass(frozen=True)
class PaymentOutcomes:
    # Statuses of the payments created in the measured phase.
    by_status: dict[str, int]
    # completed_at - created_at of each of them that completed, in ms.
    completion_ms: list[float]
    # Payments of the whole run (warm-up included) that completed inside the measured
    # phase: the engine's completion throughput while the load ran.
    completed_in_phase: int

    @property
    def completed(self) -> int:
        return self.by_status.get("COMPLETED", 0)

    @property
    def unfinished(self) -> int:
        return sum(count for status, count in self.by_status.items() if status not in FINAL_STATUSES)


async def unfinished_payments(url: str, reference_prefix: str) -> int:
    async with await connect(url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM transactions.transactions "
            "WHERE external_reference LIKE %s AND status <> ALL(%s)",
            (reference_prefix + "%", list(FINAL_STATUSES)),
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


async def payment_outcomes(
    url: str, run_prefix: str, measured_prefix: str, phase_start_unix: float, phase_end_unix: float
) -> PaymentOutcomes:
    async with await connect(url) as conn:
        cursor = await conn.execute(
            "SELECT status, count(*) FROM transactions.transactions "
            "WHERE external_reference LIKE %s GROUP BY status",
            (measured_prefix + "%",),
        )
        by_status = {str(status): int(count) for status, count in await cursor.fetchall()}  # type: ignore[call-overload]
        cursor = await conn.execute(
            "SELECT extract(epoch FROM completed_at - created_at) * 1000 FROM transactions.transactions "
            "WHERE external_reference LIKE %s AND status = 'COMPLETED' LIMIT %s",
            (measured_prefix + "%", LATENCY_ROWS_MAX),
        )
        completion_ms = [float(row[0]) for row in await cursor.fetchall()]  # type: ignore[arg-type]
        cursor = await conn.execute(
            "SELECT count(*) FROM transactions.transactions WHERE external_reference LIKE %s "
            "AND status = 'COMPLETED' "
            "AND completed_at >= to_timestamp(%s) AND completed_at < to_timestamp(%s)",
            (run_prefix + "%", phase_start_unix, phase_end_unix),
        )
        row = await cursor.fetchone()
    return PaymentOutcomes(
        by_status=by_status,
        completion_ms=completion_ms,
        completed_in_phase=int(row[0]) if row else 0,  # type: ignore[call-overload]
    )


async def wait_events(conn: psycopg.AsyncConnection[tuple[object, ...]], database: str) -> list[str]:
    """What each active backend of `database` is doing right now: `CPU` when it runs,
    otherwise its wait event (`Lock:transactionid`, `IO:WalSync`, `Client:ClientRead`…)."""
    cursor = await conn.execute(
        "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
        "WHERE datname = %s AND state <> 'idle' AND pid <> pg_backend_pid() LIMIT %s",
        (database, ACTIVITY_ROWS_MAX),
    )
    return [str(row[0]) for row in await cursor.fetchall()]


async def completed_payment_ids(url: str, reference_prefix: str) -> list[str]:
    async with await connect(url) as conn:
        cursor = await conn.execute(
            "SELECT id FROM transactions.transactions "
            "WHERE external_reference LIKE %s AND status = 'COMPLETED' LIMIT %s",
            (reference_prefix + "%", LATENCY_ROWS_MAX),
        )
        return [str(row[0]) for row in await cursor.fetchall()]
