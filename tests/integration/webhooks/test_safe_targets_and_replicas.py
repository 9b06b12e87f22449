"""Delivery-time target checks (the resolved address is the one connected to, and an
internal one is refused in production), and dispatchers as replicas: each event once,
and a crashed dispatcher's claims delivered by another after the lease."""

from __future__ import annotations

import asyncio
import time
from typing import Final

from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from corelib.db import unit_of_work
from services.webhooks import repository
from tests.integration.webhooks.receivers import Receiver
from tests.integration.webhooks.stack import event, eventually, running_webhooks

LEASE_S = 1.0


def fixed_resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    return resolve


async def test_the_connection_goes_to_the_address_that_was_resolved(database_url: str) -> None:
    # receiver.test exists in no DNS: only the service's own resolution can reach it.
    resolver = fixed_resolver({"receiver.test": ["127.0.0.1"]})
    async with running_webhooks(database_url, resolver=resolver) as stack:
        tenant = await stack.new_tenant("Pinned")
        receiver = await Receiver().start()
        try:
            await stack.create_endpoint(tenant, f"http://receiver.test:{receiver.port}/hook")
            await stack.publish([event(tenant.tenant_id)])
            (arrived,) = await receiver.wait_count(1)
        finally:
            await receiver.stop()
    assert arrived.headers["host"] == f"receiver.test:{receiver.port}"


async def test_production_refuses_a_host_that_resolves_inside(database_url: str) -> None:
    resolver = fixed_resolver(
        {"rebind.example.com": ["127.0.0.1"], "mixed.example.com": ["93.184.216.34", "10.0.0.7"]}
    )
    async with running_webhooks(database_url, mode="production", resolver=resolver) as stack:
        tenant = await stack.new_tenant("Production targets")
        inside = await stack.create_endpoint(tenant, "https://rebind.example.com/hook")
        mixed = await stack.create_endpoint(tenant, "https://mixed.example.com/hook")
        tested = await stack.stub().TestWebhookEndpoint(
            pb.TestWebhookEndpointRequest(id=inside.id), metadata=tenant.metadata
        )
        await stack.publish([event(tenant.tenant_id)])

        async def first_attempt(endpoint_id: str) -> pb.WebhookDeliveryAttempt | None:
            deliveries = [d for d in await stack.deliveries(tenant, endpoint_id) if d.attempts]
            trigger_event = [d for d in deliveries if d.trigger == pb.WEBHOOK_DELIVERY_TRIGGER_EVENT]
            return trigger_event[0].attempts[-1] if trigger_event else None

        inside_attempt = await eventually(lambda: first_attempt(inside.id))
        mixed_attempt = await eventually(lambda: first_attempt(mixed.id))
    assert tested.delivery.attempts[0].error.startswith("refused: rebind.example.com resolves to 127.0.0.1")
    assert inside_attempt.status_code == 0 and "127.0.0.1" in inside_attempt.error
    assert mixed_attempt.error.startswith("refused: mixed.example.com resolves to 10.0.0.7")


REPLICAS_TIMEOUT_MS: Final = 10_000


async def test_replicas_deliver_each_event_once(database_url: str) -> None:
    # A generous attempt timeout: an answer slower than the timeout is retried by design
    # (at least once), and a loaded machine must not turn that into a false duplicate.
    async with running_webhooks(database_url, replicas=3, timeout_ms=REPLICAS_TIMEOUT_MS) as stack:
        tenant = await stack.new_tenant("Replicas")
        receiver = await Receiver().start()
        try:
            await stack.create_endpoint(tenant, receiver.url)
            sent = [event(tenant.tenant_id) for _ in range(150)]
            await asyncio.gather(*(stack.publish(sent[i::3], replica=i) for i in range(3)))
            await receiver.wait_count(150)
            await asyncio.sleep(0.5)
        finally:
            await receiver.stop()
    assert sorted(receiver.event_ids()) == sorted(e.event_id for e in sent)


async def test_a_crashed_dispatchers_claims_are_delivered_after_the_lease(database_url: str) -> None:
    async with running_webhooks(database_url, dispatch=False) as crashed:
        tenant = await crashed.new_tenant("Crash")
        receiver = await Receiver().start()
        try:
            await crashed.create_endpoint(tenant, receiver.url)
            sent = event(tenant.tenant_id)
            await crashed.publish([sent])
            claimed_at = time.monotonic()
            async with unit_of_work(crashed.engine) as conn:
                claimed = await repository.claim_due_deliveries(
                    conn,
                    limit=10,
                    per_endpoint=10,
                    per_failing_endpoint=10,
                    saturated_endpoint_ids=[],
                    lease_s=LEASE_S,
                    claim_token="dead",
                )
            assert [c.event_id for c in claimed] == [sent.event_id]
            # The replica holding the claim dies here; a healthy one starts.
            async with running_webhooks(database_url):
                (arrived,) = await receiver.wait_count(1)
        finally:
            await receiver.stop()
    assert arrived.event["eventId"] == sent.event_id
    assert arrived.monotonic_at - claimed_at >= LEASE_S
    assert arrived.headers["x-webhook-attempt"] == "2"
