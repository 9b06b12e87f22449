"""A failover behind PgBouncer: the pooler is repointed to another server while the
transactions service's connections to it stay open, as the CloudNativePG Pooler follows
its `-rw` Service to a promoted standby. Before, the payments' records are on another
cluster than the engine's ledger: the ledger refuses the first batch, and the records
are flushed on their own. After, they land on the ledger's own server, and the create
path leaves their flush to the ledger's commit again. Every answered payment moved its
money once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb
from payment_engine_protos.transactions.v1 import transactions_pb2
from sqlalchemy import make_url

from corelib.db import LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, libpq_url
from corelib.errors import ServiceError
from launcher.pooler import LocalPgBouncer
from launcher.ports import LOOPBACK_HOST
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import Tenant, accounts_stub, funded_payer_and_payee, new_tenant
from tests.integration.transactions.test_unflushed_payment_records import (
    PAID_MAJOR,
    created_or_refused,
    other_cluster,
    payment_request,
    payments_writing_to,
    records_flushed_alone,
)

__all__ = ["other_cluster"]


def _repoint(pooler: LocalPgBouncer, pooled_url: str, database_url: str) -> None:
    """Sends the pooled database's next server connections to `database_url`'s server
    (PgBouncer's RELOAD keeps its clients' connections)."""
    target = make_url(database_url)
    config = pooler.data_dir / "pgbouncer.ini"
    connect_query = f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {LOCK_TIMEOUT_MS}"
    entry = (
        f"{make_url(pooled_url).database} = host={target.host} port={target.port} "
        f"dbname={target.database} connect_query='{connect_query}'"
    )
    config.write_text(config.read_text().replace("[databases]\n", f"[databases]\n{entry}\n", 1))
    console = libpq_url(make_url(pooled_url).set(database="pgbouncer").render_as_string(hide_password=False))
    with psycopg.connect(console, autocommit=True) as admin:
        psycopg.ClientCursor(admin).execute("RELOAD")


async def _across_a_failover(
    engine: EngineHandle, pooler: LocalPgBouncer, pooled_url: str, tenant: Tenant, payer: str, payee: str
) -> list[bytes | ServiceError]:
    answers: list[bytes | ServiceError] = []
    async with payments_writing_to(engine, pooled_url, prepared_statements=False) as payments:
        for key in ("before-1", "before-2"):
            answers.append(await created_or_refused(payments, payment_request(tenant, payer, payee, key)))
        assert records_flushed_alone() == 1
        await asyncio.to_thread(_repoint, pooler, pooled_url, engine.database_url)
        for key in ("after-1", "after-2", "after-3"):
            answers.append(await created_or_refused(payments, payment_request(tenant, payer, payee, key)))
            assert records_flushed_alone() == 0, key
    return answers


def test_after_a_failover_to_the_ledgers_server_its_commit_flushes_the_records_again(
    engine_stack: EngineHandle, other_cluster: str, tmp_path: Path
) -> None:
    tenant = new_tenant(engine_stack, "Payments across a failover")
    payer, payee = funded_payer_and_payee(engine_stack, tenant, 100.0)
    pooler = LocalPgBouncer(
        tmp_path, upstream_host=LOOPBACK_HOST, upstream_port=make_url(other_cluster).port or 0
    )
    pooler.start()
    try:
        pooled_url = pooler.pooled_url(other_cluster)
        answers = asyncio.run(_across_a_failover(engine_stack, pooler, pooled_url, tenant, payer, payee))
    finally:
        pooler.stop()

    refused, *rest = answers
    assert isinstance(refused, ServiceError) and refused.reason == "SERVICE_UNAVAILABLE", refused
    created = [answer for answer in rest if isinstance(answer, bytes)]
    assert len(created) == len(rest), rest
    ids = {transactions_pb2.CreateTransactionResponse.FromString(answer).transaction.id for answer in created}
    assert len(ids) == 4, created
    balance = accounts_stub(engine_stack).GetBalance(
        pb.GetBalanceRequest(account_id=payee), metadata=tenant.metadata
    )
    assert round(balance.current_balance * 100) == 4 * round(PAID_MAJOR * 100)
