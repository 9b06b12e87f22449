"""Many clients at once on a few hot accounts, over real connections: holds race for
the same balance, posts and voids interleave, and afterwards the ledger reconciles
with zero drift and no account went below zero."""

from __future__ import annotations

import asyncio
import random
import uuid

import grpc
from payment_engine_protos.accounts.v1 import accounts_pb2 as pb
from payment_engine_protos.accounts.v1 import accounts_pb2_grpc

from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import accounts_stub, new_tenant, service_metadata
from tests.integration.accounts.test_ledger_model import reconcile_now

CLIENTS = 24
OPERATIONS_PER_CLIENT = 40
HOT_ACCOUNTS = 4
OPENING_MINOR = 50_000


def test_parallel_holds_on_hot_accounts_never_overdraw(engine_stack: EngineHandle) -> None:
    tenant = new_tenant(engine_stack, "Hot accounts")
    service = service_metadata(engine_stack)
    stub = accounts_stub(engine_stack)
    hot = []
    for _ in range(HOT_ACCOUNTS):
        account = stub.CreateAccount(
            pb.CreateAccountRequest(name="hot", currency_code="USD"), metadata=tenant.metadata
        )
        stub.FundAccount(
            pb.FundAccountRequest(account_id=account.account.id, amount=OPENING_MINOR / 100),
            metadata=tenant.metadata,
        )
        hot.append(account.account.id)

    outcomes = {"held": 0, "refused": 0, "posted": 0, "voided": 0}

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        async with grpc.aio.insecure_channel(engine_stack.grpc_addrs["accounts"]) as channel:
            ledger = accounts_pb2_grpc.LedgerServiceStub(channel)
            for _ in range(OPERATIONS_PER_CLIENT):
                payer, payee = rng.sample(hot, 2)
                hold_id = f"txn_hot_{uuid.uuid4().hex}"
                try:
                    await ledger.PlaceHold(
                        pb.PlaceHoldRequest(
                            hold_id=hold_id,
                            tenant_id=tenant.tenant_id,
                            account_id=payer,
                            amount_minor=rng.randint(1, 9_000),
                            currency_code="USD",
                        ),
                        metadata=service,
                    )
                except grpc.aio.AioRpcError:
                    outcomes["refused"] += 1
                    continue
                outcomes["held"] += 1
                # A retry of the same step must change nothing.
                if rng.random() < 0.7:
                    await ledger.PostHold(
                        pb.PostHoldRequest(hold_id=hold_id, payee_account_id=payee), metadata=service
                    )
                    await ledger.PostHold(
                        pb.PostHoldRequest(hold_id=hold_id, payee_account_id=payee), metadata=service
                    )
                    outcomes["posted"] += 1
                else:
                    await ledger.VoidHold(pb.VoidHoldRequest(hold_id=hold_id), metadata=service)
                    await ledger.VoidHold(pb.VoidHoldRequest(hold_id=hold_id), metadata=service)
                    outcomes["voided"] += 1

    async def run_all() -> None:
        await asyncio.gather(*(client(seed) for seed in range(CLIENTS)))

    asyncio.run(run_all())
    assert outcomes["held"] > 0 and outcomes["posted"] > 0
    total = 0.0
    for account_id in hot:
        balance = stub.GetBalance(pb.GetBalanceRequest(account_id=account_id), metadata=tenant.metadata)
        assert balance.available_balance >= 0 and balance.held_balance == 0
        total += balance.current_balance
    # Money only moved between the hot accounts: their total is what was funded.
    assert round(total * 100) == OPENING_MINOR * HOT_ACCOUNTS
    report = reconcile_now(engine_stack.database_url)
    assert report.clean, report
