"""Bench: webhook events delivered per second to a local receiver, and the delay from the
commit that recorded each event to its arrival (p50/p99). Target: p99 under one second
at 500 events per second.

    .venv/bin/python -m bench.webhooks_delivery [--rate 500] [--seconds 20] [--database-url URL]

The topology is the engine's: the auth and webhooks services run as their own processes
(`python -m services.<name>.server`), the receiver as a third. This process plays a
producing service: it commits events to an outbox table with `corelib.outbox.record_event`
— one commit per 10 ms tick, as payments commit in the transactions service — and runs
the shared relay (`corelib.outbox_relay`) that hands them to WebhooksService.PublishEvents
with a service token (bench/outbox_producer.py). `python -m bench --scenarios
webhook_delivery` measures the same through the whole engine. Without --database-url an
embedded PostgreSQL is started in a temporary directory. Prints one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final

import grpc
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

from bench.outbox_producer import create_outbox, produce, relaying
from bench.stats import percentile
from corelib.db import create_engine
from corelib.migrations import upgrade_all
from launcher.embedded_db import EmbeddedPostgres, PostgresTuning
from launcher.ports import free_port
from launcher.readiness import GrpcHealthProbe
from services.auth import provisioning

ROOT: Final = Path(__file__).resolve().parent.parent
RECEIVER: Final = Path(__file__).with_name("webhook_receiver.py")
DRAIN_POLL_S: Final = 0.5
READY_TIMEOUT_S: Final = 60.0
DRAIN_TIMEOUT_S: Final = 60.0
TARGET_P99_MS: Final = 1000.0
TARGET_RATE: Final = 500


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="pe-bench-") as scratch:
        postgres = EmbeddedPostgres(Path(scratch), tuning=PostgresTuning(durable=True), port=0)
        postgres.start()
        try:
            yield postgres.create_database("bench")
        finally:
            postgres.stop()


@contextmanager
def service(name: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{name}.server"],
        cwd=ROOT,
        env={**env, "PE_GRPC_PORT": str(port)},
        stdout=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    try:
        probe = GrpcHealthProbe(address)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not probe.check():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start")
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def receiver() -> Iterator[int]:
    process = subprocess.Popen([sys.executable, str(RECEIVER)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield int(json.loads(process.stdout.readline())["port"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def arrivals(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as response:
        loaded: dict[str, float] = json.loads(response.read())
    return loaded


async def run(
    args: argparse.Namespace, url: str, auth_addr: str, webhooks_addr: str, receiver_port: int
) -> dict[str, Any]:
    tenant_id = await provisioning.create_tenant(url, "Bench")
    _, api_key = await provisioning.create_api_key(
        url, tenant_id, "bench", ["webhook:read", "webhook:write"], None
    )
    async with grpc.aio.insecure_channel(webhooks_addr) as channel:
        stub = webhooks_pb2_grpc.WebhooksServiceStub(channel)
        await stub.CreateWebhookEndpoint(
            webhooks_pb2.CreateWebhookEndpointRequest(url=f"http://127.0.0.1:{receiver_port}/hook"),
            metadata=(("x-api-key", api_key),),
        )
        engine = create_engine(url, application_name="bench-producer", pool_size=4)
        table = await create_outbox(engine)
        try:
            async with relaying(
                engine,
                table,
                webhooks_addr=webhooks_addr,
                auth_addr=auth_addr,
                service_secret=args.service_secret,
            ):
                committed = await produce(engine, table, tenant_id, rate=args.rate, seconds=args.seconds)
                deadline = time.monotonic() + DRAIN_TIMEOUT_S
                arrived = await asyncio.to_thread(arrivals, receiver_port)
                while len(arrived.keys() & committed.keys()) < len(committed) and time.monotonic() < deadline:
                    await asyncio.sleep(DRAIN_POLL_S)
                    arrived = await asyncio.to_thread(arrivals, receiver_port)
        finally:
            await engine.dispose()
    delays_ms = sorted((arrived[e] - committed[e]) * 1000 for e in committed if e in arrived)
    first_commit = min(committed.values())
    last_arrival = max(arrived[e] for e in committed if e in arrived)
    # Exact nearest-rank percentiles over every event, as in the main benchmark.
    p50, p99 = percentile(delays_ms, 50), percentile(delays_ms, 99)
    rate = len(delays_ms) / (last_arrival - first_commit)
    return {
        "scenario": "webhooks: commit → delivery to a local receiver",
        "target_rate_per_s": args.rate,
        "seconds": args.seconds,
        "events_committed": len(committed),
        "events_delivered": len(delays_ms),
        "delivered_per_s": round(rate, 1),
        "delay_p50_ms": round(p50, 1),
        "delay_p99_ms": round(p99, 1),
        "delay_max_ms": round(delays_ms[-1], 1),
        "target": f"p99 < {TARGET_P99_MS:.0f} ms at {TARGET_RATE}/s",
        "target_met": bool(
            args.rate >= TARGET_RATE and p99 < TARGET_P99_MS and len(delays_ms) == len(committed)
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="events committed per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to produce")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    args.service_secret = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        url = stack.enter_context(database(args.database_url))
        upgrade_all(url)
        env = {
            **os.environ,
            "PE_DATABASE_URL": url,
            "PE_SERVICE_SECRET": args.service_secret,
            "PE_MODE": "sandbox",
            "PE_LOG_LEVEL": "warning",
        }
        auth_addr = stack.enter_context(service("auth", env))
        webhooks_addr = stack.enter_context(service("webhooks", {**env, "PE_AUTH_ADDR": auth_addr}))
        receiver_port = stack.enter_context(receiver())
        result = asyncio.run(run(args, url, auth_addr, webhooks_addr, receiver_port))
    print(json.dumps(result, indent=2))
    return 0 if result["target_met"] or args.rate < TARGET_RATE else 1


if __name__ == "__main__":
    raise SystemExit(main())
