"""Each engine process follows every channel it needs (revocations, its outbox's
wake-ups, new accounts) on one LISTEN connection, named `<service>-listen`: PostgreSQL
signals every listening backend on each NOTIFY, so the engine keeps one per process. The
transactions process, its connection ended by the server, listens again on one and
still hears a revocation within a second."""

from __future__ import annotations

import time
from collections import Counter
from typing import Final

import grpc
import httpx
import psycopg
from payment_engine_protos.transactions.v1 import transactions_pb2, transactions_pb2_grpc

from corelib.db import libpq_url
from corelib.notification_feed import APPLICATION_NAME_SUFFIX, listening_application_name
from tests.harness.engine import EngineHandle

SERVICES: Final = ("auth", "accounts", "transactions", "webhooks")
DEADLINE_S: Final = 15.0
REVOCATION_DEADLINE_S: Final = 1.0
POLL_S: Final = 0.02


def listening_backends(database_url: str) -> list[tuple[str, int]]:
    """(application_name, pid) of every listening connection on the engine's database."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as db:
        rows = db.execute(
            "SELECT application_name, pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE %s",
            (f"%{APPLICATION_NAME_SUFFIX}",),
        ).fetchall()
    return [(str(name), int(pid)) for name, pid in rows]


def listening_pids(database_url: str, service: str) -> list[int]:
    name = listening_application_name(service)
    return [pid for application_name, pid in listening_backends(database_url) if application_name == name]


def payment_types_status(addr: str, api_key: str) -> grpc.StatusCode:
    with grpc.insecure_channel(addr) as channel:
        try:
            transactions_pb2_grpc.TransactionsServiceStub(channel).ListPaymentTypes(
                transactions_pb2.ListPaymentTypesRequest(), metadata=(("x-api-key", api_key),), timeout=5
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def test_every_service_process_listens_on_one_connection(engine_stack: EngineHandle) -> None:
    expected = Counter({listening_application_name(service): 1 for service in SERVICES})
    deadline = time.monotonic() + DEADLINE_S
    while True:
        found = Counter(name for name, _ in listening_backends(engine_stack.database_url))
        if found == expected:
            return
        # A replica another test started may still be on its way out.
        assert time.monotonic() < deadline, f"listening connections: {dict(found)}"
        time.sleep(0.1)


def test_a_lost_connection_is_replaced_by_one_that_still_hears_revocations(
    engine_stack: EngineHandle,
) -> None:
    database_url, addr = engine_stack.database_url, engine_stack.grpc_addrs["transactions"]
    (before,) = listening_pids(database_url, "transactions")
    with psycopg.connect(libpq_url(database_url), autocommit=True) as db:
        db.execute("SELECT pg_terminate_backend(%s)", (before,))
    deadline = time.monotonic() + DEADLINE_S
    while (after := listening_pids(database_url, "transactions")) in ([], [before]):
        assert time.monotonic() < deadline, "the transactions process did not listen again"
        time.sleep(POLL_S)
    assert len(after) == 1
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, timeout=10) as http:
        created = http.post(
            "/api/v1/api-keys", headers=admin, json={"name": "relistened", "scopes": ["transaction:read"]}
        )
        assert created.status_code == 201, created.text
        key_id, secret = created.json()["apiKey"]["id"], created.json()["secret"]
        # Caught up again: until then the service refuses user calls.
        while payment_types_status(addr, secret) != grpc.StatusCode.OK:
            assert time.monotonic() < deadline, "the transactions process did not catch up"
            time.sleep(POLL_S)
        assert http.post(f"/api/v1/api-keys/{key_id}:revoke", headers=admin, json={}).status_code == 200
    revoked_at = time.monotonic()
    while payment_types_status(addr, secret) == grpc.StatusCode.OK:
        assert time.monotonic() - revoked_at < REVOCATION_DEADLINE_S, "the revoked key still works"
        time.sleep(POLL_S)
    assert listening_pids(database_url, "transactions") == after
