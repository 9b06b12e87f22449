"""PostgreSQL goes away under a payment stream — its backends killed again and again,
then the whole server restarted — and the engine rides it out: no service process exits
(the launcher never has to restart one, let alone give up), gRPC health says NOT_SERVING
while the database is away and SERVING after, every client retry (same Idempotency-Key)
ends with a definitive answer, every payment ends in exactly one final state, and the
ledger reconciles to zero drift."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corelib.db import libpq_url
from corelib.grpc_server import LIVENESS_SERVICE
from launcher.embedded_db import EmbeddedPostgres
from launcher.readiness import PROBE_TIMEOUT_S, GrpcHealthProbe
from tests.faults.payment_stream import Stream, audit_payments, stream_during
from tests.harness.engine import EngineHandle, running_engine
from tests.harness.postgres import start_test_postgres

CLIENTS: Final = 4
PAYMENTS_PER_CLIENT: Final = 20
# Generous: a retry may land while the server is down and must simply be tried again.
ATTEMPTS_PER_PAYMENT_MAX: Final = 600
BACKEND_KILL_ROUNDS: Final = 10
SERVICES: Final = ("auth", "accounts", "transactions", "webhooks")
HEALTH_DEADLINE_S: Final = 60.0
SETTLE_DEADLINE_S: Final = 120.0
KEY_PREFIX: Final = "pgfault"


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """This test restarts its server: other tests must not share it."""
    postgres = start_test_postgres(tmp_path / "postgres")
    try:
        yield postgres
    finally:
        postgres.stop()


@pytest.fixture
def engine(own_postgres: EmbeddedPostgres, tmp_path: Path, through_pooler: bool) -> Iterator[EngineHandle]:
    # The launcher's default restart budget: the test proves it is never touched.
    with running_engine(own_postgres, tmp_path / "engine", pooler=through_pooler) as handle:
        yield handle


def terminate_service_backends(database_url: str) -> int:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as db:
        killed = db.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = ANY(%s) AND pid <> pg_backend_pid()",
            (list(SERVICES),),
        ).fetchone()
    assert killed is not None
    return int(killed[0])


def wait_for_health(engine: EngineHandle, *, serving: bool) -> None:
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    probes = {name: GrpcHealthProbe(engine.grpc_addrs[name]) for name in SERVICES}
    while True:
        states = {name: probe.check() for name, probe in probes.items()}
        if all(state == serving for state in states.values()):
            return
        assert time.monotonic() < deadline, f"health never became serving={serving}: {states}"
        time.sleep(0.2)


def alive(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=LIVENESS_SERVICE), timeout=PROBE_TIMEOUT_S
        )
    serving: bool = response.status == health_pb2.HealthCheckResponse.SERVING
    return serving


def disturb(engine: EngineHandle, postgres: EmbeddedPostgres, report: dict[str, int]) -> None:
    rng = random.Random(11)
    for _ in range(BACKEND_KILL_ROUNDS):
        time.sleep(rng.uniform(0.3, 1.0))
        report["backends_killed"] = report.get("backends_killed", 0) + terminate_service_backends(
            engine.database_url
        )
    postgres.shut_down()
    # Readiness follows the database: no service is ready while it is away…
    wait_for_health(engine, serving=False)
    report["not_serving_seen"] = 1
    # …while liveness does not: nothing would be gained by restarting them.
    assert all(alive(engine.grpc_addrs[name]) for name in SERVICES)
    postgres.start_again()
    # …and every one is again once it is back, without having been restarted.
    wait_for_health(engine, serving=True)
    report["serving_again"] = 1
    for _ in range(BACKEND_KILL_ROUNDS // 2):
        time.sleep(rng.uniform(0.3, 1.0))
        report["backends_killed"] += terminate_service_backends(engine.database_url)


@pytest.mark.timeout(900)
def test_the_engine_rides_out_backend_kills_and_a_postgres_restart(
    engine: EngineHandle, own_postgres: EmbeddedPostgres
) -> None:
    supervisor = engine.supervisor
    pids_before = {name: supervisor.pid(name) for name in supervisor.names}
    report: dict[str, int] = {}
    stream = Stream(
        engine.base_url,
        engine.credentials.api_key,
        clients=CLIENTS,
        payments=PAYMENTS_PER_CLIENT,
        attempts_max=ATTEMPTS_PER_PAYMENT_MAX,
        key_prefix=KEY_PREFIX,
    )

    outcome = stream_during(stream, lambda: disturb(engine, own_postgres, report), disturbance_timeout_s=300)

    assert report.get("not_serving_seen") == 1 and report.get("serving_again") == 1, report
    assert report["backends_killed"] > 0, report
    audit_payments(engine.database_url, outcome, key_prefix=KEY_PREFIX, settle_deadline_s=SETTLE_DEADLINE_S)

    # No process exited: same pids, no restarts, the launcher's budget never came into play.
    assert {name: supervisor.pid(name) for name in supervisor.names} == pids_before
    assert {name: supervisor.crash_restarts(name) for name in supervisor.names} == dict.fromkeys(
        supervisor.names, 0
    )
