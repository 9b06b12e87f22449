"""A payment's first record commits without waiting for its WAL flush only while the
ledger's commit flushes it: on the same PostgreSQL server. Here the payments live on
another cluster than the running engine's ledger (as when transactions is moved to its
own database): the ledger refuses the first batch's holds unplaced, that payment is
answered as unknown, and from then on the records are flushed on their own and payments
complete."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Final

import grpc
import pytest
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb
from payment_engine_protos.transactions.v1 import transactions_pb2
from prometheus_client import REGISTRY

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.config import load_settings
from corelib.db import create_engine
from corelib.direct_sql import DirectPool
from corelib.errors import ServiceError
from corelib.migrations import upgrade_all
from corelib.request_context import Principal
from launcher.embedded_db import EmbeddedPostgres
from services.transactions.account_directory import AccountDirectory
from services.transactions.api import render_created
from services.transactions.ledger_client import LedgerClient
from services.transactions.payments import PaymentOrder, PaymentRequest, Payments
from services.transactions.saga_steps import SagaSteps
from services.transactions.server import rail_timing
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import Tenant, accounts_stub, funded_payer_and_payee, new_tenant

PAID_MAJOR: Final = 12.34


@pytest.fixture(scope="module")
def other_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("payments-elsewhere"), port=0)
    postgres.start()
    try:
        url = postgres.url()
        upgrade_all(url)
        yield url
    finally:
        postgres.stop()


def payment_request(tenant: Tenant, payer: str, payee: str, key: str) -> PaymentRequest:
    caller = Principal(id=f"key_{key}", kind="api_key", tenant_id=tenant.tenant_id, scopes=frozenset())
    order = PaymentOrder(payer, payee, "RTP", PAID_MAJOR, "USD", "elsewhere", "")
    return PaymentRequest(caller=caller, order=order, idempotency_key=key, fingerprint=key.encode())


async def created_or_refused(payments: Payments, request: PaymentRequest) -> bytes | ServiceError:
    try:
        return await payments.create(request)
    except ServiceError as error:
        return error


@asynccontextmanager
async def payments_writing_to(
    engine: EngineHandle, url: str, *, prepared_statements: bool = True
) -> AsyncIterator[Payments]:
    """The create path of a transactions service whose database is `url`, with the running
    engine's ledger."""
    database = create_engine(
        url, application_name="payments-elsewhere", pool_size=2, prepared_statements=prepared_statements
    )
    direct = DirectPool(
        url, application_name="payments-elsewhere", connections_max=2, prepared_statements=prepared_statements
    )
    async with (
        grpc.aio.insecure_channel(engine.grpc_addrs["auth"]) as auth_channel,
        grpc.aio.insecure_channel(engine.grpc_addrs["accounts"]) as accounts_channel,
    ):
        tokens = ServiceTokenSource(
            AuthClient(auth_channel), service_name="transactions", service_secret=engine.service_secret
        )
        ledger = LedgerClient(accounts_channel, tokens)
        try:
            yield Payments(
                database,
                direct,
                ledger,
                AccountDirectory(ledger),
                SagaSteps(database, ledger),
                rail_timing(load_settings({})),
                render=render_created,
                sandbox=True,
                unflushed_first_writes=True,
            )
        finally:
            await ledger.close()
            await direct.close()
            await database.dispose()


def records_flushed_alone() -> float | None:
    return REGISTRY.get_sample_value("pe_payment_records_flushed_alone")


async def _create_thrice(
    engine: EngineHandle, url: str, tenant: Tenant, payer: str, payee: str
) -> tuple[bytes | ServiceError, bytes, bytes]:
    async with payments_writing_to(engine, url) as payments:
        first = await created_or_refused(payments, payment_request(tenant, payer, payee, "first"))
        second = await payments.create(payment_request(tenant, payer, payee, "second"))
        third = await payments.create(payment_request(tenant, payer, payee, "third"))
        assert records_flushed_alone() == 1
        return first, second, third


def test_records_on_another_server_are_flushed_on_their_own(
    engine_stack: EngineHandle, other_cluster: str
) -> None:
    tenant = new_tenant(engine_stack, "Payments elsewhere")
    payer, payee = funded_payer_and_payee(engine_stack, tenant, 100.0)

    first, second, third = asyncio.run(_create_thrice(engine_stack, other_cluster, tenant, payer, payee))

    assert isinstance(first, ServiceError) and first.reason == "SERVICE_UNAVAILABLE", first
    created = [transactions_pb2.CreateTransactionResponse.FromString(answer) for answer in (second, third)]
    assert len({answer.transaction.id for answer in created}) == 2, created
    balance = accounts_stub(engine_stack).GetBalance(
        pb.GetBalanceRequest(account_id=payee), metadata=tenant.metadata
    )
    # The first payment's hold was never placed: only the other two moved money.
    assert round(balance.current_balance * 100) == 2 * round(PAID_MAJOR * 100)
