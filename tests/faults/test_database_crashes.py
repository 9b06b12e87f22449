"""PostgreSQL killed outright under a payment stream — the postmaster and every backend
at once (SIGKILL), on a server as durable as the engine runs it — loses whatever WAL it
had not written yet, and recovers from the rest. A payment's first record commits
without waiting for its flush (its hold's commit on the same server flushes it), so this
is where one could be lost while its hold survived. After every crash: each payment that
was answered exists and ends in one final state, every hold belongs to a payment, and
the ledger reconciles to zero drift. tests/pooler/ runs it through PgBouncer too, where
the services' connections outlive the server's."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from launcher.embedded_db import EmbeddedPostgres
from launcher.pids import pid_alive
from tests.faults.payment_stream import Stream, audit_payments, stream_during
from tests.faults.test_database_restarts import wait_for_health
from tests.harness.engine import EngineHandle, running_engine

CLIENTS: Final = 6
PAYMENTS_PER_CLIENT: Final = 40
ATTEMPTS_PER_PAYMENT_MAX: Final = 600
CRASHES: Final = 3
DEATH_DEADLINE_S: Final = 30.0
SETTLE_DEADLINE_S: Final = 120.0
KEY_PREFIX: Final = "pgcrash"


@pytest.fixture
def durable_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """Durable (fsync, synchronous commits), unlike the session's: the test is about what
    a crash keeps. It crashes its server, so it has one of its own."""
    postgres = EmbeddedPostgres(tmp_path / "postgres", port=0)
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()


@pytest.fixture
def engine(
    durable_postgres: EmbeddedPostgres, tmp_path: Path, through_pooler: bool
) -> Iterator[EngineHandle]:
    with running_engine(durable_postgres, tmp_path / "engine", pooler=through_pooler) as handle:
        yield handle


def _server_pids(postgres: EmbeddedPostgres) -> list[int]:
    postmaster = int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == postmaster:
            children.append(int(entry.name))
    return [postmaster, *children]


def crash(postgres: EmbeddedPostgres) -> int:
    """SIGKILLs the postmaster and its children, without a shutdown of any kind; waits
    (bounded) until every one is gone. How many there were."""
    pids = _server_pids(postgres)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    postgres.exit_code()  # reaps the postmaster, our child
    deadline = time.monotonic() + DEATH_DEADLINE_S
    while any(pid_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "PostgreSQL survived SIGKILL"
        time.sleep(0.05)
    return len(pids)


@pytest.mark.timeout(900)
def test_answered_payments_and_the_books_survive_postgres_being_killed(
    engine: EngineHandle, durable_postgres: EmbeddedPostgres
) -> None:
    killed: list[int] = []

    def crash_repeatedly() -> None:
        rng = random.Random(23)
        for _ in range(CRASHES):
            time.sleep(rng.uniform(0.5, 1.5))
            killed.append(crash(durable_postgres))
            durable_postgres.start_again()
            wait_for_health(engine, serving=True)

    stream = Stream(
        engine.base_url,
        engine.credentials.api_key,
        clients=CLIENTS,
        payments=PAYMENTS_PER_CLIENT,
        attempts_max=ATTEMPTS_PER_PAYMENT_MAX,
        key_prefix=KEY_PREFIX,
    )

    outcome = stream_during(stream, crash_repeatedly, disturbance_timeout_s=300)

    assert len(killed) == CRASHES and min(killed) > 1, killed
    # Each start after a crash replayed the WAL: none was a clean shutdown.
    recoveries = durable_postgres.log_path.read_text(errors="replace").count("automatic recovery in progress")
    assert recoveries == CRASHES, durable_postgres.log_tail()
    audit_payments(engine.database_url, outcome, key_prefix=KEY_PREFIX, settle_deadline_s=SETTLE_DEADLINE_S)
