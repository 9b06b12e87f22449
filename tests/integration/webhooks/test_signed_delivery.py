"""Events reach real receivers signed and in full, verified three ways: the guide's
Python function as written, the guide's Node.js function as written under `node`, and
the official `standardwebhooks` package."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from tests.integration.webhooks.receivers import (
    NodeReceiver,
    Receiver,
    guide_python_verifier,
    guide_verify,
    standard_webhooks_verifier,
)
from tests.integration.webhooks.stack import (
    TenantClient,
    WebhooksStack,
    event,
    running_webhooks,
    transaction_data,
)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[WebhooksStack]:
    async with running_webhooks(database_url) as running:
        yield running


@pytest.fixture
async def tenant(stack: WebhooksStack) -> TenantClient:
    return await stack.new_tenant("Signed delivery")


async def test_the_guides_python_function_verifies_a_payments_events(
    stack: WebhooksStack, tenant: TenantClient
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        endpoint = await stack.create_endpoint(tenant, receiver.url, description="orders")
        receiver.verifier = guide_python_verifier(endpoint.secret)
        txn = transaction_data(transactionReference="ORDER-42", failureReason="", status="COMPLETED")
        completed = event(tenant.tenant_id, "transaction.completed", txn)
        balance = event(
            tenant.tenant_id,
            "account.balance.updated",
            {
                "accountId": "acc_01",
                "availableBalance": 900.5,
                "currentBalance": 1000.0,
                "currencyCode": "USD",
                "cause": "hold.posted",
            },
        )
        answer = await stack.publish([completed, balance])
        assert (answer.accepted_count, answer.duplicate_count) == (2, 0)
        arrived = await receiver.wait_count(2)
    finally:
        await receiver.stop()
    assert all(r.verified for r in arrived) and all(r.answered == 200 for r in arrived)
    by_type = {r.event["eventType"]: r for r in arrived}
    body = by_type["transaction.completed"].event
    assert set(body) == {"eventId", "eventType", "createdAt", "data"}
    assert body["eventId"] == completed.event_id
    assert body["createdAt"] == completed.created_at.ToJsonString()
    assert body["data"] == txn
    assert by_type["account.balance.updated"].event["data"]["availableBalance"] == 900.5
    headers = by_type["transaction.completed"].headers
    assert headers["x-webhook-id"] == completed.event_id == headers["webhook-id"]
    assert headers["x-webhook-timestamp"] == headers["webhook-timestamp"]
    assert headers["content-type"] == "application/json"
    assert "x-webhook-signature-previous" not in headers


async def test_the_guides_node_function_verifies_the_same_request(
    stack: WebhooksStack, tenant: TenantClient
) -> None:
    # The secret exists once the endpoint does, and node needs it to start: register
    # first, then point the endpoint at the receiver.
    endpoint = await stack.create_endpoint(tenant, "http://127.0.0.1:9/not-listening-yet")
    node = await NodeReceiver(secret=endpoint.secret).start()
    try:
        await stack.stub().UpdateWebhookEndpoint(
            pb.UpdateWebhookEndpointRequest(endpoint=pb.WebhookEndpoint(id=endpoint.id, url=node.url)),
            metadata=tenant.metadata,
        )
        data = transaction_data(status="FAILED", failureReason="RTP rejected")
        sent = event(tenant.tenant_id, "transaction.failed", data)
        await stack.publish([sent])
        lines = await node.wait_count(1)
    finally:
        await node.stop()
    assert lines[0]["verified"] is True
    assert lines[0]["event"]["eventId"] == sent.event_id
    assert lines[0]["event"]["data"] == data


async def test_standard_webhooks_verifies_and_rotation_keeps_the_old_secret_valid(
    stack: WebhooksStack, tenant: TenantClient
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        endpoint = await stack.create_endpoint(tenant, receiver.url)
        old_secret = endpoint.secret
        receiver.verifier = standard_webhooks_verifier(old_secret)
        await stack.publish([event(tenant.tenant_id)])
        await receiver.wait_count(1)
        rotated = (
            await stack.stub().RotateWebhookEndpointSecret(
                pb.RotateWebhookEndpointSecretRequest(id=endpoint.id, overlap_seconds=3600),
                metadata=tenant.metadata,
            )
        ).endpoint
        new_secret = rotated.secret
        assert new_secret.startswith("whsec_") and new_secret != old_secret
        assert rotated.HasField("previous_secret_expires_at")
        # An integrator who has not switched yet still verifies with the old secret.
        await stack.publish([event(tenant.tenant_id)])
        arrived = await receiver.wait_count(2)
    finally:
        await receiver.stop()
    assert [r.verified for r in arrived] == [True, True]
    during = arrived[1]
    assert standard_webhooks_verifier(new_secret)(during.body, during.headers)
    payload = during.body.decode("utf-8")
    assert guide_verify(payload, during.headers["x-webhook-signature"], new_secret)
    assert guide_verify(payload, during.headers["x-webhook-signature-previous"], old_secret)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert json.loads(during.body)["eventType"] == "transaction.completed"
