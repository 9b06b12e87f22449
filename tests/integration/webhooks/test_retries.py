"""At least once, with retries: failed attempts are retried on the (compressed) schedule,
a receiver that was down gets everything, a hanging one is timed out, one endpoint's
failures do not slow another's, and an endpoint that fails a whole schedule is disabled
until it is enabled again."""

from __future__ import annotations

import asyncio
import statistics

from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from tests.integration.webhooks.receivers import Receiver
from tests.integration.webhooks.stack import TenantClient, WebhooksStack, event, eventually, running_webhooks


async def test_a_500_then_200_gets_the_event_again(database_url: str) -> None:
    async with running_webhooks(database_url) as stack:
        tenant = await stack.new_tenant("Retry")
        receiver = await Receiver(script=[500]).start()
        try:
            endpoint = await stack.create_endpoint(tenant, receiver.url)
            sent = event(tenant.tenant_id)
            await stack.publish([sent])
            arrived = await receiver.wait_count(2)
            deliveries = await eventually(
                lambda: _settled(stack, tenant, endpoint.id),
            )
        finally:
            await receiver.stop()
    assert [r.answered for r in arrived] == [500, 200]
    assert [r.event["eventId"] for r in arrived] == [sent.event_id, sent.event_id]
    assert [r.headers["x-webhook-attempt"] for r in arrived] == ["1", "2"]
    # Each attempt signs afresh, over the same body.
    assert arrived[0].body == arrived[1].body
    (delivery,) = deliveries
    assert delivery.status == pb.WEBHOOK_DELIVERY_STATUS_SUCCEEDED and delivery.attempt_count == 2
    latest, first = delivery.attempts
    assert (first.status_code, first.succeeded, first.error) == (500, False, "HTTP 500")
    assert (latest.status_code, latest.succeeded, latest.error, latest.response_body) == (200, True, "", "OK")
    assert first.response_body == "OK" and first.latency_ms >= 0
    assert latest.attempted_at.ToDatetime() > first.attempted_at.ToDatetime()


async def _settled(
    stack: WebhooksStack, tenant: TenantClient, endpoint_id: str
) -> list[pb.WebhookDelivery] | None:
    """The endpoint's deliveries once none is pending any more."""
    deliveries = await stack.deliveries(tenant, endpoint_id)
    if deliveries and all(d.status != pb.WEBHOOK_DELIVERY_STATUS_PENDING for d in deliveries):
        return deliveries
    return None


async def test_a_receiver_down_for_a_while_gets_everything_when_back(database_url: str) -> None:
    async with running_webhooks(database_url) as stack:
        tenant = await stack.new_tenant("Down then back")
        receiver = await Receiver().start()
        endpoint = await stack.create_endpoint(tenant, receiver.url)
        await receiver.stop()
        sent = [event(tenant.tenant_id) for _ in range(20)]
        await stack.publish(sent[:10])
        await asyncio.sleep(0.5)
        await stack.publish(sent[10:])
        await asyncio.sleep(0.7)
        await receiver.start()
        try:
            await receiver.wait_for(lambda r: {x.event["eventId"] for x in r} >= {e.event_id for e in sent})
        finally:
            await receiver.stop()
        failed = await stack.deliveries(tenant, endpoint.id)
        assert all(d.attempts[-1].error.startswith("ConnectError") for d in failed if d.attempt_count > 1)
        assert (await stack.endpoint(tenant, endpoint.id)).status == pb.WEBHOOK_ENDPOINT_STATUS_ENABLED


async def test_a_hanging_receiver_is_timed_out_and_retried(database_url: str) -> None:
    async with running_webhooks(database_url, timeout_ms=400) as stack:
        tenant = await stack.new_tenant("Hang")
        receiver = await Receiver(script=["hang"]).start()
        try:
            endpoint = await stack.create_endpoint(tenant, receiver.url)
            await stack.publish([event(tenant.tenant_id)])
            arrived = await receiver.wait_count(2)
            deliveries = await eventually(lambda: _settled(stack, tenant, endpoint.id))
        finally:
            await receiver.stop()
    assert arrived[1].answered == 200
    latest, first = deliveries[0].attempts
    assert first.status_code == 0 and first.error == "timed out after 400 ms"
    assert 350 <= first.latency_ms < 2000
    assert latest.succeeded


async def test_a_slow_endpoint_does_not_delay_another(database_url: str) -> None:
    async with running_webhooks(database_url, timeout_ms=2000) as stack:
        slow_owner = await stack.new_tenant("Slow")
        fast_owner = await stack.new_tenant("Fast")
        slow = await Receiver(default="hang").start()
        fast = await Receiver().start()
        try:
            await stack.create_endpoint(slow_owner, slow.url)
            await stack.create_endpoint(fast_owner, fast.url)
            # The slow endpoint gets its events first and would hold every worker if
            # nothing kept endpoints apart.
            await stack.publish([event(slow_owner.tenant_id) for _ in range(200)])
            await slow.wait_count(10)
            published_at = asyncio.get_running_loop().time()
            fast_events = [event(fast_owner.tenant_id) for _ in range(100)]
            await stack.publish(fast_events)
            arrived = await fast.wait_count(100, timeout_s=10)
        finally:
            await slow.stop()
            await fast.stop()
    delays = [r.monotonic_at - published_at for r in arrived]
    # All of them well before the slow endpoint's 2 s timeout frees a single slot.
    assert max(delays) < 1.5, statistics.quantiles(delays, n=10)
    assert sorted(r.event["eventId"] for r in arrived) == sorted(e.event_id for e in fast_events)


async def test_an_endpoint_failing_a_whole_schedule_is_disabled_until_enabled(database_url: str) -> None:
    async with running_webhooks(database_url, retry_schedule="100ms,200ms") as stack:
        tenant = await stack.new_tenant("Disable")
        receiver = await Receiver(default=503).start()
        try:
            endpoint = await stack.create_endpoint(tenant, receiver.url)
            first = event(tenant.tenant_id)
            await stack.publish([first])

            async def disabled() -> pb.WebhookEndpoint | None:
                current = await stack.endpoint(tenant, endpoint.id)
                return current if current.status == pb.WEBHOOK_ENDPOINT_STATUS_DISABLED else None

            stopped = await eventually(disabled)
            assert "3 consecutive failed attempts" in stopped.disabled_reason
            assert "HTTP 503" in stopped.disabled_reason and stopped.HasField("disabled_at")
            # The run of failures that disabled it, from its first failed attempt.
            assert stopped.HasField("failing_since")
            assert stopped.failing_since.ToDatetime() <= stopped.disabled_at.ToDatetime()
            # While disabled, events queue instead of being sent.
            later = event(tenant.tenant_id)
            await stack.publish([later])
            await asyncio.sleep(0.6)
            assert len(receiver.received) == 3
            receiver.default = 200
            enabled = await stack.stub().EnableWebhookEndpoint(
                pb.EnableWebhookEndpointRequest(id=endpoint.id), metadata=tenant.metadata
            )
            assert enabled.endpoint.status == pb.WEBHOOK_ENDPOINT_STATUS_ENABLED
            assert enabled.endpoint.disabled_reason == "" and enabled.endpoint.consecutive_failures == 0
            assert not enabled.endpoint.HasField("failing_since")
            await receiver.wait_for(
                lambda r: (
                    {first.event_id, later.event_id} <= {x.event["eventId"] for x in r if x.answered == 200}
                )
            )
            deliveries = await eventually(lambda: _settled(stack, tenant, endpoint.id))
        finally:
            await receiver.stop()
    assert {d.status for d in deliveries} == {pb.WEBHOOK_DELIVERY_STATUS_SUCCEEDED}


async def test_a_redirect_is_a_failed_attempt_and_not_followed(database_url: str) -> None:
    async with running_webhooks(database_url, retry_schedule="100ms") as stack:
        tenant = await stack.new_tenant("Redirect")
        receiver = await Receiver(default=302).start()
        try:
            endpoint = await stack.create_endpoint(tenant, receiver.url)
            await stack.publish([event(tenant.tenant_id)])

            async def both_attempts_logged() -> list[pb.WebhookDeliveryAttempt] | None:
                (delivery,) = await stack.deliveries(tenant, endpoint.id)
                return list(delivery.attempts) if len(delivery.attempts) == 2 else None

            attempts = await eventually(both_attempts_logged)
        finally:
            await receiver.stop()
    assert [a.error for a in attempts] == ["HTTP 302: redirects are not followed"] * 2
    assert [a.status_code for a in attempts] == [302, 302]
    # The Location pointed elsewhere; nothing followed it.
    assert len(receiver.received) == 2
