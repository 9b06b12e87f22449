"""The payment saga's ledger client against the running engine's accounts service: its
calls travel in the call tunnel (no unary call leaves the channel), and they answer as
the unary calls did — the ledger's decision per item, its refusals with their reasons
and details, a missing hold as none, and an unreachable ledger as an unknown outcome; a
hold whose payment record awaits its flush on another server is refused unplaced."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import grpc
import psycopg
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb
from psycopg.rows import dict_row

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.call_tunnel import TUNNEL_METHOD
from corelib.db import libpq_url
from corelib.direct_sql import server_identity
from corelib.errors import ServiceError
from services.transactions.ledger_client import LedgerClient, LedgerOnAnotherServer, LedgerUnavailable
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import Tenant, accounts_stub, new_tenant

FUNDED_MAJOR: Final = 50.0
PAID_MINOR: Final = 1_234
# Nothing listens there: the engine's tests never bind port 1.
UNREACHABLE: Final = "127.0.0.1:1"


class _UnaryCallsSeen(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, methods: list[str]) -> None:
        self.methods = methods

    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        self.methods.append(_method(details))
        return await continuation(details, request)


class _StreamCallsSeen(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, methods: list[str]) -> None:
        self.methods = methods

    async def intercept_stream_stream(
        self, continuation: Callable[..., Awaitable[Any]], details: Any, request_iterator: Any
    ) -> Any:
        self.methods.append(_method(details))
        return await continuation(details, request_iterator)


def _method(details: Any) -> str:
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


def _accounts(engine: EngineHandle, name: str) -> tuple[Tenant, str, str]:
    """A new tenant, its funded payer and its payee."""
    tenant = new_tenant(engine, name)
    stub = accounts_stub(engine)
    ids = [
        stub.CreateAccount(
            pb.CreateAccountRequest(name=f"{name} {role}", currency_code="USD"), metadata=tenant.metadata
        ).account.id
        for role in ("payer", "payee")
    ]
    stub.FundAccount(pb.FundAccountRequest(account_id=ids[0], amount=FUNDED_MAJOR), metadata=tenant.metadata)
    return tenant, ids[0], ids[1]


def _order(tenant_id: str, payer: str, payee: str, amount_minor: int) -> pb.PlaceHoldRequest:
    return pb.PlaceHoldRequest(
        hold_id=f"txn_ledger_client_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        account_id=payer,
        amount_minor=amount_minor,
        currency_code="USD",
        description="ledger client",
        payee_account_id=payee,
        post_at_once=True,
    )


async def _with_client(
    engine: EngineHandle, address: str, use: Callable[[LedgerClient], Awaitable[Any]]
) -> tuple[Any, list[str]]:
    # The method of every gRPC call the channel makes, of either kind (grpc gives each
    # interceptor one kind of call).
    methods: list[str] = []
    seen = [_UnaryCallsSeen(methods), _StreamCallsSeen(methods)]
    async with (
        grpc.aio.insecure_channel(engine.grpc_addrs["auth"]) as auth_channel,
        grpc.aio.insecure_channel(address, interceptors=seen) as channel,
    ):
        tokens = ServiceTokenSource(
            AuthClient(auth_channel), service_name="transactions", service_secret=engine.service_secret
        )
        ledger = LedgerClient(channel, tokens)
        try:
            return await use(ledger), methods
        finally:
            await ledger.close()


def test_ledger_calls_travel_in_the_tunnel_and_answer_per_item(engine_stack: EngineHandle) -> None:
    tenant, payer, payee = _accounts(engine_stack, "Ledger client tunnel")
    tenant_id = tenant.tenant_id
    paid = _order(tenant_id, payer, payee, PAID_MINOR)
    too_much = _order(tenant_id, payer, payee, 10 * round(FUNDED_MAJOR * 100))

    async def use(ledger: LedgerClient) -> tuple[list[Any], Any, Any, Any]:
        placed = await ledger.place_holds([paid, too_much])
        found = await ledger.find_hold(paid.hold_id)
        missing = await ledger.find_hold(f"txn_ledger_client_{uuid.uuid4().hex}")
        facts = await ledger.describe_accounts([payer, payee])
        return placed, found, missing, facts

    (placed, found, missing, facts), methods = asyncio.run(
        _with_client(engine_stack, engine_stack.grpc_addrs["accounts"], use)
    )

    assert isinstance(placed[0], pb.PlaceHoldResponse)
    assert placed[0].hold.status == pb.HOLD_STATUS_POSTED
    assert placed[0].hold.payee_account_id == payee
    refusal = placed[1]
    assert isinstance(refusal, ServiceError) and refusal.reason == "INSUFFICIENT_FUNDS", refusal
    assert refusal.details, "the refusal keeps the ledger's details"
    assert found is not None and found.id == paid.hold_id and found.amount_minor == PAID_MINOR
    assert missing is None
    assert set(facts) == {payer, payee} and facts[payer].tenant_id == tenant_id
    # Every call went in the tunnel's one stream: no unary call reached the ledger.
    assert methods == [TUNNEL_METHOD], methods
    balance = accounts_stub(engine_stack).GetBalance(
        pb.GetBalanceRequest(account_id=payee), metadata=tenant.metadata
    )
    assert round(balance.current_balance * 100) == PAID_MINOR


def test_an_unreachable_ledger_is_an_unknown_outcome_for_every_item(engine_stack: EngineHandle) -> None:
    tenant, payer, payee = _accounts(engine_stack, "Ledger client unreachable")
    orders = [_order(tenant.tenant_id, payer, payee, PAID_MINOR) for _ in range(3)]

    async def use(ledger: LedgerClient) -> list[Any]:
        return await ledger.place_holds(orders)

    placed, _ = asyncio.run(_with_client(engine_stack, UNREACHABLE, use))

    assert [type(outcome) for outcome in placed] == [LedgerUnavailable] * len(orders), placed


async def _server_of(database_url: str) -> str:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), row_factory=dict_row) as conn:
        return await server_identity(conn)


def test_a_hold_for_a_record_unflushed_elsewhere_is_refused_unplaced(engine_stack: EngineHandle) -> None:
    """A payment's record committed without waiting for its flush is made durable by the
    ledger's commit only on the same server: the ledger places such a hold there, and
    refuses it, moving nothing, when the record is on another server."""
    tenant, payer, payee = _accounts(engine_stack, "Ledger client unflushed records")
    ledger_server = asyncio.run(_server_of(engine_stack.database_url))
    same = _order(tenant.tenant_id, payer, payee, PAID_MINOR)
    same.unflushed_record_server = ledger_server
    system_identifier, timeline = ledger_server.split("/")
    elsewhere = [_order(tenant.tenant_id, payer, payee, PAID_MINOR) for _ in range(2)]
    elsewhere[0].unflushed_record_server = f"{int(system_identifier) + 1}/{timeline}"
    # A standby promoted to a new timeline is another server too.
    elsewhere[1].unflushed_record_server = f"{system_identifier}/{int(timeline, 16) + 1:08X}"

    async def use(ledger: LedgerClient) -> tuple[list[Any], list[Any]]:
        placed = await ledger.place_holds([same, *elsewhere])
        return placed, [await ledger.find_hold(order.hold_id) for order in elsewhere]

    (placed, found), _ = asyncio.run(_with_client(engine_stack, engine_stack.grpc_addrs["accounts"], use))

    assert isinstance(placed[0], pb.PlaceHoldResponse) and placed[0].hold.status == pb.HOLD_STATUS_POSTED
    assert [type(outcome) for outcome in placed[1:]] == [LedgerOnAnotherServer] * 2, placed
    assert found == [None, None]
    balance = accounts_stub(engine_stack).GetBalance(
        pb.GetBalanceRequest(account_id=payee), metadata=tenant.metadata
    )
    assert round(balance.current_balance * 100) == PAID_MINOR
