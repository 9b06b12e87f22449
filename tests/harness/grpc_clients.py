"""Blocking gRPC clients of a running engine, with a tenant's or a service's credentials."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc
from payment_engine_protos.transactions.v1 import transactions_pb2_grpc

from corelib.errors import DecodedError, decode_status
from services.auth import provisioning
from services.auth.scopes import ALL_SCOPES
from tests.harness.engine import EngineHandle

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    api_key: str

    @property
    def metadata(self) -> Metadata:
        return (("x-api-key", self.api_key),)


def sandbox_tenant(engine: EngineHandle) -> Tenant:
    return Tenant(engine.credentials.tenant_id, engine.credentials.api_key)


def new_tenant(engine: EngineHandle, name: str, scopes: list[str] | None = None) -> Tenant:
    async def create() -> Tenant:
        tenant_id = await provisioning.create_tenant(engine.database_url, name)
        _, secret = await provisioning.create_api_key(
            engine.database_url, tenant_id, f"{name} key", scopes or list(ALL_SCOPES), None
        )
        return Tenant(tenant_id, secret)

    return asyncio.run(create())


def channel(engine: EngineHandle, service: str) -> grpc.Channel:
    return grpc.insecure_channel(engine.grpc_addrs[service])


def service_metadata(engine: EngineHandle, service_name: str = "transactions") -> Metadata:
    stub = auth_pb2_grpc.AuthServiceStub(channel(engine, "auth"))
    response = stub.IssueServiceToken(
        auth_pb2.IssueServiceTokenRequest(service_name=service_name, service_secret=engine.service_secret)
    )
    return (("x-pe-principal", response.access_token),)


def accounts_stub(engine: EngineHandle) -> accounts_pb2_grpc.AccountsServiceStub:
    return accounts_pb2_grpc.AccountsServiceStub(channel(engine, "accounts"))


def ledger_stub(engine: EngineHandle) -> accounts_pb2_grpc.LedgerServiceStub:
    return accounts_pb2_grpc.LedgerServiceStub(channel(engine, "accounts"))


def transactions_stub(engine: EngineHandle) -> transactions_pb2_grpc.TransactionsServiceStub:
    return transactions_pb2_grpc.TransactionsServiceStub(channel(engine, "transactions"))


def decoded_error(error: grpc.RpcError) -> DecodedError:
    """The guide code, message and details a failed call carries."""
    assert isinstance(error, grpc.Call)
    trailers = error.trailing_metadata() or ()
    details_bin = next((v for k, v in trailers if k == "grpc-status-details-bin"), None)
    return decode_status(
        error.code(), error.details() or "", details_bin if isinstance(details_bin, bytes) else None
    )


def funded_payer_and_payee(engine: EngineHandle, tenant: Tenant, funds: float) -> tuple[str, str]:
    """Two new USD accounts of the tenant, the first funded with `funds` (major units)."""
    accounts = accounts_stub(engine)
    payer, payee = (
        accounts.CreateAccount(
            accounts_pb2.CreateAccountRequest(name=name, currency_code="USD"), metadata=tenant.metadata
        ).account.id
        for name in ("payer", "payee")
    )
    accounts.FundAccount(
        accounts_pb2.FundAccountRequest(account_id=payer, amount=funds), metadata=tenant.metadata
    )
    return payer, payee
