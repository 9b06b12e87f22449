"""The ledger: balance reads (HTTP through the gateway, and gRPC straight to the accounts
service), and hold+post pairs — the two ledger calls of every payment — over gRPC to the
internal LedgerService, on 10 hot accounts (every pair fights for the same rows) and on
10,000 spread accounts (pairs rarely meet)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from functools import partial
from typing import Final

from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from bench.clients import api_key_metadata, expect_status, grpc_channels, http_clients, service_metadata
from bench.context import AccountSet, BenchContext
from bench.keepalive_http import KeepAliveClient
from bench.load import OP_TIMEOUT_S, run_closed
from bench.options import HOT_ACCOUNTS

CURRENCY: Final = "USD"
# Seeded by the sandbox (the guide's ids); a read needs no setup.
SEED_ACCOUNTS: Final = ("test_acc_001", "test_acc_002")
# Every bench account gets this much, far more than the runs can move (1 minor unit per
# hold+post, 1.00 per payment).
FUND_AMOUNT_MAJOR: Final = 1_000_000.0
HOLD_AMOUNT_MINOR: Final = 1
# Creating thousands of accounts: enough calls in flight to keep the engine busy, few
# enough not to time out on 2 cores.
SETUP_CONCURRENCY: Final = 16
SETUP_ATTEMPTS_MAX: Final = 3
SETUP_RETRY_DELAY_S: Final = 0.5
SETUP_TIMEOUT_S: Final = 60.0
SETUP_PROGRESS_EVERY: Final = 2_000


class SetupError(Exception):
    pass


async def _create_accounts(ctx: BenchContext, count: int, payers: int, kind: str) -> AccountSet:
    """`count` accounts of the sandbox tenant through the public AccountsService, of
    which `payers`, drawn at random, are funded with the sandbox's FundAccount;
    SETUP_CONCURRENCY calls at a time. Funding is the slow part: every FundAccount moves
    money out of the one sandbox funding account, so they queue on its row."""
    metadata = api_key_metadata(ctx.engine)
    funded_numbers = set(random.Random(kind).sample(range(count), payers))
    accounts: list[str] = []
    funded: list[str] = []
    numbers = iter(range(count))
    started = time.monotonic()

    async def create_one(stub: accounts_pb2_grpc.AccountsServiceAsyncStub, number: int) -> None:
        response = await stub.CreateAccount(
            accounts_pb2.CreateAccountRequest(
                name=f"bench {kind} {ctx.run_id} {number}", currency_code=CURRENCY
            ),
            metadata=metadata,
            timeout=SETUP_TIMEOUT_S,
        )
        account_id = response.account.id
        if number in funded_numbers:
            await stub.FundAccount(
                accounts_pb2.FundAccountRequest(
                    account_id=account_id, amount=FUND_AMOUNT_MAJOR, description="bench"
                ),
                metadata=metadata,
                timeout=SETUP_TIMEOUT_S,
            )
            funded.append(account_id)
        accounts.append(account_id)

    async def worker(stub: accounts_pb2_grpc.AccountsServiceAsyncStub) -> None:
        for number in numbers:
            for attempt in range(SETUP_ATTEMPTS_MAX):
                try:
                    await create_one(stub, number)
                    break
                except Exception as error:
                    if attempt + 1 == SETUP_ATTEMPTS_MAX:
                        raise SetupError(f"creating {kind} account {number} failed: {error}") from error
                    await asyncio.sleep(SETUP_RETRY_DELAY_S)
            if len(accounts) % SETUP_PROGRESS_EVERY == 0:
                print(f"    {len(accounts):,}/{count:,} {kind} accounts", flush=True)

    async with grpc_channels(ctx.engine.grpc_addrs["accounts"], SETUP_CONCURRENCY) as channels:
        await asyncio.gather(
            *(worker(accounts_pb2_grpc.AccountsServiceStub(channel)) for channel in channels)
        )
    elapsed = time.monotonic() - started
    ctx.note(f"created {count:,} {kind} accounts, {payers:,} of them funded, in {elapsed:.1f} s")
    ctx.setup_timings[f"{kind}_accounts"] = {"count": count, "funded": payers, "seconds": round(elapsed, 2)}
    return AccountSet(accounts=accounts, payers=funded)


async def hot_accounts(ctx: BenchContext) -> AccountSet:
    if ctx.hot_accounts is None:
        ctx.hot_accounts = await _create_accounts(ctx, HOT_ACCOUNTS, HOT_ACCOUNTS, "hot")
    return ctx.hot_accounts


async def spread_accounts(ctx: BenchContext) -> AccountSet:
    if ctx.spread_accounts is None:
        options = ctx.options
        ctx.spread_accounts = await _create_accounts(
            ctx, options.spread_accounts, options.spread_payers, "spread"
        )
    return ctx.spread_accounts


async def balance_read(ctx: BenchContext) -> None:
    async def http_read(client: KeepAliveClient, number: int, _measured: bool) -> None:
        response = await client.get(f"/api/v1/accounts/{SEED_ACCOUNTS[number % len(SEED_ACCOUNTS)]}/balance")
        expect_status(response, 200)

    metadata = api_key_metadata(ctx.engine)

    async def grpc_read(
        stub: accounts_pb2_grpc.AccountsServiceAsyncStub, number: int, _measured: bool
    ) -> None:
        account_id = SEED_ACCOUNTS[number % len(SEED_ACCOUNTS)]
        await stub.GetBalance(
            accounts_pb2.GetBalanceRequest(account_id=account_id), metadata=metadata, timeout=OP_TIMEOUT_S
        )

    for clients in ctx.options.clients_of("balance_read"):
        async with http_clients(ctx.engine.base_url, clients) as pool:
            for client in pool:
                client.headers["x-api-key"] = ctx.engine.api_key
            load = partial(run_closed, pool, http_read, ctx.phases)
            await ctx.measure("balance_read", "http", clients, load, profile=True)
        async with grpc_channels(ctx.engine.grpc_addrs["accounts"], clients) as channels:
            stubs = [accounts_pb2_grpc.AccountsServiceStub(channel) for channel in channels]
            load = partial(run_closed, stubs, grpc_read, ctx.phases)
            await ctx.measure("balance_read", "grpc", clients, load, profile=True)


async def _hold_post(ctx: BenchContext, scenario: str, tag: str, accounts: AccountSet) -> None:
    metadata = await service_metadata(ctx.engine)
    tenant_id = ctx.engine.tenant_id
    # Seeded, so that two runs draw the same pairs.
    chooser = random.Random(scenario)
    hold_numbers = itertools.count()

    async def hold_and_post(
        stub: accounts_pb2_grpc.LedgerServiceAsyncStub, _number: int, _measured: bool
    ) -> None:
        payer, payee = accounts.pair(chooser)
        hold_id = f"txn_bench_{ctx.run_id}_{tag}_{next(hold_numbers)}"
        await stub.PlaceHold(
            accounts_pb2.PlaceHoldRequest(
                hold_id=hold_id,
                tenant_id=tenant_id,
                account_id=payer,
                amount_minor=HOLD_AMOUNT_MINOR,
                currency_code=CURRENCY,
                description="bench hold",
            ),
            metadata=metadata,
            timeout=OP_TIMEOUT_S,
        )
        await stub.PostHold(
            accounts_pb2.PostHoldRequest(hold_id=hold_id, payee_account_id=payee, description="bench post"),
            metadata=metadata,
            timeout=OP_TIMEOUT_S,
        )

    clients_max = max(ctx.options.hold_post_clients)
    for clients in ctx.options.hold_post_clients:
        async with grpc_channels(ctx.engine.grpc_addrs["accounts"], clients) as channels:
            stubs = [accounts_pb2_grpc.LedgerServiceStub(channel) for channel in channels]
            load = partial(run_closed, stubs, hold_and_post, ctx.phases)
            row, _ = await ctx.measure(
                scenario,
                f"{len(accounts.accounts):,} accounts",
                clients,
                load,
                profile=clients == clients_max,
            )
            row.details["accounts"] = len(accounts.accounts)
            row.details["funded_payers"] = len(accounts.payers)


async def hold_post_hot(ctx: BenchContext) -> None:
    await _hold_post(ctx, "hold_post_hot", "hot", await hot_accounts(ctx))


async def hold_post_spread(ctx: BenchContext) -> None:
    await _hold_post(ctx, "hold_post_spread", "spread", await spread_accounts(ctx))
