"""Webhook delivery: events delivered per second to a local receiver, and the delay from
the commit that recorded each event to its arrival (p50/p99).

The receiver (bench/webhook_receiver.py) runs as its own process on 127.0.0.1 and notes
each event's arrival time. An endpoint subscribed to every event type is registered
through the gateway; then two runs:

* via payments — RTP payments pushed at a fixed rate the engine sustains; each payment's
  events (transaction.created, transaction.completed, account.balance.updated for every
  ledger change) travel through the services' outboxes and the webhooks service. The
  delay is from the event's `createdAt` (written in the same database transaction as the
  state change it reports) to its arrival.
* via outbox — events committed at the issue's 500/s by this process, playing a producing
  service (bench/outbox_producer.py), so the webhooks path is measured at the target rate
  even where the payment path cannot produce it. The delay is from each commit to arrival.

Both clocks are this machine's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Final

import orjson

from bench import database
from bench.clients import expect_status, http_client, http_clients, login_token
from bench.context import BenchContext, SkipScenario
from bench.keepalive_http import KeepAliveClient
from bench.load import Phases, run_paced
from bench.options import WEBHOOK_CLIENTS, WEBHOOK_PAYMENT_RATE_CAP, WEBHOOK_PAYMENT_SHARE_OF_SUSTAINED
from bench.outbox_producer import create_outbox, produce, relaying
from bench.report import Row
from bench.scenarios.accounts import spread_accounts
from bench.scenarios.payments import payment_operation, reference_prefix, wait_until_final
from bench.stats import summarize_ms
from corelib.db import create_engine

RECEIVER: Final = Path(__file__).resolve().parent.parent / "webhook_receiver.py"
ENDPOINTS_PATH: Final = "/api/v1/webhook-endpoints"
RECEIVER_START_TIMEOUT_S: Final = 30.0
RECEIVER_STOP_TIMEOUT_S: Final = 10.0
# Delivery is done when no new event has arrived for this long (bounded by the timeout).
QUIET_S: Final = 3.0
DELIVERY_TIMEOUT_S: Final = 120.0
POLL_S: Final = 0.5
POLLS_MAX: Final = int(DELIVERY_TIMEOUT_S / POLL_S) + 1
TARGET_EVENTS_PER_S: Final = 500.0
TARGET_P99_MS: Final = 1000.0
MS_PER_S: Final = 1000.0
PAYMENT_RATE_MIN: Final = 1.0
PRODUCER_POOL: Final = 4
MISSING_COMPLETED: Final = "completed payment without a transaction.completed webhook"


@asynccontextmanager
async def receiver(ctx: BenchContext) -> AsyncIterator[str]:
    """The receiver process; yields its base URL and counts its CPU meanwhile."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(RECEIVER), stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), RECEIVER_START_TIMEOUT_S)
        port = int(json.loads(line)["port"])
        ctx.cpu.add("receiver", process.pid)
        yield f"http://127.0.0.1:{port}"
    finally:
        ctx.cpu.remove("receiver")
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), RECEIVER_STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await asyncio.wait_for(process.wait(), RECEIVER_STOP_TIMEOUT_S)


async def received_events(client: KeepAliveClient) -> list[tuple[str, str, float, str, float]]:
    """(event id, type, createdAt as Unix time, transaction id, arrival Unix time)."""
    response = await client.get("/events")
    expect_status(response, 200)
    rows = []
    for event_id, event_type, created_at, transaction_id, arrived in orjson.loads(response.content):
        try:
            created = datetime.fromisoformat(created_at).timestamp()
        except ValueError:
            continue
        rows.append((event_id, event_type, created, transaction_id, float(arrived)))
    return rows


async def wait_for_quiet(client: KeepAliveClient) -> list[tuple[str, str, float, str, float]]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    events = await received_events(client)
    last_change = time.monotonic()
    for _ in range(POLLS_MAX):
        if time.monotonic() >= deadline or time.monotonic() - last_change >= QUIET_S:
            break
        await asyncio.sleep(POLL_S)
        latest = await received_events(client)
        if len(latest) != len(events):
            last_change = time.monotonic()
        events = latest
    return events


def payment_rate(ctx: BenchContext) -> tuple[float, str]:
    """Payments per second to push, and why that many."""
    options = ctx.options
    if options.webhook_payment_rate is not None:
        return options.webhook_payment_rate, "--webhook-payment-rate"
    sustained = ctx.sustained_payments_per_s
    if sustained is None:
        return WEBHOOK_PAYMENT_RATE_CAP, "default (the payments scenario did not run)"
    rate = max(
        PAYMENT_RATE_MIN, min(WEBHOOK_PAYMENT_RATE_CAP, WEBHOOK_PAYMENT_SHARE_OF_SUSTAINED * sustained)
    )
    return rate, (
        f"{WEBHOOK_PAYMENT_SHARE_OF_SUSTAINED:.0%} of the {sustained:.0f} completed payments/s "
        f"rtp_payments sustained (at most {WEBHOOK_PAYMENT_RATE_CAP:.0f}/s)"
    )


async def via_payments(ctx: BenchContext, receiver_url: str) -> None:
    """Events of real payments, pushed at a rate the engine sustains."""
    token = await login_token(ctx.engine)
    accounts = await spread_accounts(ctx)
    rate, basis = payment_rate(ctx)
    phases = Phases(ctx.options.warmup_s, ctx.options.webhook_seconds)
    prefix = reference_prefix(ctx, "webhooks", WEBHOOK_CLIENTS)
    operation = payment_operation(token, prefix, accounts)
    async with http_clients(ctx.engine.base_url, WEBHOOK_CLIENTS) as pool:
        load = partial(run_paced, pool, operation, phases, rate)
        payments_row, result = await ctx.measure(
            "webhook_delivery", f"payments@{rate:.0f}/s create", WEBHOOK_CLIENTS, load
        )
    payments_row.details["rate_basis"] = basis
    await wait_until_final(ctx, prefix + "m:")
    async with http_client(receiver_url) as receiver_client:
        events = await wait_for_quiet(receiver_client)
    completed_ids = set(await database.completed_payment_ids(ctx.engine.libpq_url, prefix + "m:"))
    window_start = result.measure_start_unix
    window_end = window_start + phases.duration_s
    in_window = [event for event in events if window_start <= event[2] < window_end]
    delays_ms = [(arrived - created) * MS_PER_S for _, _, created, _, arrived in in_window]
    # Throughput: every event that arrived during the phase, whenever it was created.
    arrived_in_window = sum(1 for event in events if window_start <= event[4] < window_end)
    delivered_per_s = arrived_in_window / phases.duration_s
    completed_delivered = {event[3] for event in events if event[1] == "transaction.completed"}
    missing = len(completed_ids - completed_delivered)
    ctx.add_row(
        Row(
            scenario="webhook_delivery",
            variant="via payments commit→arrival",
            clients=WEBHOOK_CLIENTS,
            ops=len(in_window),
            ops_per_s=delivered_per_s,
            latency=summarize_ms(delays_ms),
            errors=missing,
            baseline_tps=ctx.baseline_tps(WEBHOOK_CLIENTS),
            error_reasons={MISSING_COMPLETED: missing} if missing else {},
            details={
                "payments_per_s_offered": rate,
                "payments_completed": len(completed_ids),
                "events_by_type": dict(Counter(event[1] for event in in_window)),
                "events_per_payment": round(len(in_window) / max(1, payments_row.ops), 2),
                "latency_is": "event createdAt (its commit) → arrival at the receiver",
            },
        )
    )


async def arrivals_of(client: KeepAliveClient, event_ids: set[str]) -> dict[str, float]:
    """Waits (bounded) until every event has arrived; event id → arrival time."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    arrived: dict[str, float] = {}
    for _ in range(POLLS_MAX):
        if time.monotonic() >= deadline:
            break
        arrived = {event[0]: event[4] for event in await received_events(client) if event[0] in event_ids}
        if len(arrived) == len(event_ids):
            break
        await asyncio.sleep(POLL_S)
    return arrived


async def via_outbox(ctx: BenchContext, receiver_url: str) -> None:
    """Events committed straight to an outbox at the target rate by this process, playing
    a producing service: the webhooks path alone (relay → PublishEvents → delivery)."""
    rate = ctx.options.webhook_event_rate
    seconds = ctx.options.webhook_seconds
    db_engine = create_engine(
        ctx.engine.database_url, application_name="bench-producer", pool_size=PRODUCER_POOL
    )
    try:
        table = await create_outbox(db_engine)

        async def produce_and_deliver() -> tuple[dict[str, float], dict[str, float]]:
            async with (
                relaying(
                    db_engine,
                    table,
                    webhooks_addr=ctx.engine.grpc_addrs["webhooks"],
                    auth_addr=ctx.engine.grpc_addrs["auth"],
                    service_secret=ctx.engine.service_secret,
                ),
                http_client(receiver_url) as receiver_client,
            ):
                committed = await produce(db_engine, table, ctx.engine.tenant_id, rate=rate, seconds=seconds)
                return committed, await arrivals_of(receiver_client, set(committed))

        (committed, arrived), cpu = await ctx.metered(
            produce_and_deliver, 1, f"webhook_delivery outbox@{rate:.0f}/s"
        )
    finally:
        await db_engine.dispose()
    delays_ms = [
        (arrived[event_id] - at) * MS_PER_S for event_id, at in committed.items() if event_id in arrived
    ]
    first_commit = min(committed.values(), default=0.0)
    arrived_while_producing = sum(1 for at in arrived.values() if at < first_commit + seconds)
    missing = len(committed) - len(arrived)
    ctx.add_row(
        Row(
            scenario="webhook_delivery",
            variant=f"outbox@{rate:.0f}/s commit→arrival",
            clients=1,
            ops=len(arrived),
            ops_per_s=arrived_while_producing / seconds,
            latency=summarize_ms(delays_ms),
            errors=missing,
            baseline_tps=ctx.baseline_tps(1),
            error_reasons={"event committed but not delivered in time": missing} if missing else {},
            cpu_percent=cpu,
            details={
                "events_committed": len(committed),
                "events_per_s_offered": rate,
                "latency_is": "commit of the outbox row → arrival at the receiver",
                "producer": "this process (bench/outbox_producer.py), as a producing service",
            },
        )
    )


async def webhook_delivery(ctx: BenchContext) -> None:
    if "webhooks" not in ctx.engine.grpc_addrs:
        raise SkipScenario("the engine has no webhooks service")
    async with receiver(ctx) as receiver_url, http_client(ctx.engine.base_url) as api:
        api.headers["x-api-key"] = ctx.engine.api_key
        created = await api.post(ENDPOINTS_PATH, json={"url": f"{receiver_url}/hook", "description": "bench"})
        if created.status_code != 201:
            raise SkipScenario(
                f"registering the endpoint answered HTTP {created.status_code}: {created.text[:200]}"
            )
        endpoint_id = created.json()["id"]
        try:
            await via_payments(ctx, receiver_url)
            await via_outbox(ctx, receiver_url)
        finally:
            # Nothing after the benchmark should keep delivering to a receiver that is gone.
            await api.delete(f"{ENDPOINTS_PATH}/{endpoint_id}")
