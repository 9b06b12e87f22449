"""The endpoints API over gRPC: create (secret once), list, get, update, delete, rotate,
scopes, bad URLs, and tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from google.protobuf import field_mask_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb

from tests.integration.webhooks.stack import (
    TenantClient,
    WebhooksStack,
    reason_of,
    running_webhooks,
)


@pytest.fixture(scope="module")
async def stack(database_url: str) -> AsyncIterator[WebhooksStack]:
    async with running_webhooks(database_url) as running:
        yield running


@pytest.fixture(scope="module")
async def production(database_url: str) -> AsyncIterator[WebhooksStack]:
    async with running_webhooks(database_url, mode="production") as running:
        yield running


@pytest.fixture(scope="module")
async def tenant(stack: WebhooksStack) -> TenantClient:
    return await stack.new_tenant("Endpoints API")


async def test_create_shows_the_secret_once(stack: WebhooksStack, tenant: TenantClient) -> None:
    created = await stack.create_endpoint(
        tenant, "http://localhost:3000/webhooks", ["transaction.completed", "account.*"], "orders"
    )
    assert created.id.startswith("whe_") and created.secret.startswith("whsec_")
    assert created.status == pb.WEBHOOK_ENDPOINT_STATUS_ENABLED
    assert list(created.event_types) == ["transaction.completed", "account.*"]
    assert created.description == "orders" and created.HasField("created_at")
    assert not created.HasField("previous_secret_expires_at")
    fetched = await stack.endpoint(tenant, created.id)
    assert fetched.secret == "" and fetched.url == "http://localhost:3000/webhooks"
    listed = await stack.stub().ListWebhookEndpoints(
        pb.ListWebhookEndpointsRequest(), metadata=tenant.metadata
    )
    assert created.id in [e.id for e in listed.endpoints]
    assert all(e.secret == "" for e in listed.endpoints)


async def test_lists_paginate_newest_first(stack: WebhooksStack) -> None:
    owner = await stack.new_tenant("Paging")
    ids = [(await stack.create_endpoint(owner, f"http://localhost:{4000 + i}/hook")).id for i in range(5)]
    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await stack.stub().ListWebhookEndpoints(
            pb.ListWebhookEndpointsRequest(page_size=2, page_token=token), metadata=owner.metadata
        )
        seen.extend(e.id for e in page.endpoints)
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(ids, reverse=True)


async def test_update_with_and_without_a_mask(stack: WebhooksStack, tenant: TenantClient) -> None:
    created = await stack.create_endpoint(tenant, "http://localhost:3000/a", ["transaction.failed"], "before")
    stub = stack.stub()
    changed = (
        await stub.UpdateWebhookEndpoint(
            pb.UpdateWebhookEndpointRequest(
                endpoint=pb.WebhookEndpoint(id=created.id, url="http://localhost:3001/b")
            ),
            metadata=tenant.metadata,
        )
    ).endpoint
    assert changed.url == "http://localhost:3001/b" and changed.description == "before"
    assert list(changed.event_types) == ["transaction.failed"]
    assert changed.updated_at.ToDatetime() >= created.updated_at.ToDatetime()
    reset = (
        await stub.UpdateWebhookEndpoint(
            pb.UpdateWebhookEndpointRequest(
                endpoint=pb.WebhookEndpoint(id=created.id),
                update_mask=field_mask_pb2.FieldMask(paths=["event_types", "description"]),
            ),
            metadata=tenant.metadata,
        )
    ).endpoint
    assert list(reset.event_types) == [] and reset.description == ""
    bad_mask = stub.UpdateWebhookEndpoint(
        pb.UpdateWebhookEndpointRequest(
            endpoint=pb.WebhookEndpoint(id=created.id), update_mask=field_mask_pb2.FieldMask(paths=["secret"])
        ),
        metadata=tenant.metadata,
    )
    assert await reason_of(bad_mask) == "INVALID_REQUEST"


async def test_delete_then_not_found(stack: WebhooksStack, tenant: TenantClient) -> None:
    created = await stack.create_endpoint(tenant, "http://localhost:3000/gone")
    deleted = await stack.stub().DeleteWebhookEndpoint(
        pb.DeleteWebhookEndpointRequest(id=created.id), metadata=tenant.metadata
    )
    assert (deleted.id, deleted.deleted) == (created.id, True)
    assert await reason_of(stack.endpoint(tenant, created.id)) == "NOT_FOUND"
    again = stack.stub().DeleteWebhookEndpoint(
        pb.DeleteWebhookEndpointRequest(id=created.id), metadata=tenant.metadata
    )
    assert await reason_of(again) == "NOT_FOUND"


async def test_rotation_states_its_overlap_and_bounds_it(stack: WebhooksStack, tenant: TenantClient) -> None:
    created = await stack.create_endpoint(tenant, "http://localhost:3000/rotate")
    stub = stack.stub()
    rotated = (
        await stub.RotateWebhookEndpointSecret(
            pb.RotateWebhookEndpointSecretRequest(id=created.id), metadata=tenant.metadata
        )
    ).endpoint
    assert rotated.secret.startswith("whsec_") and rotated.secret != created.secret
    window = rotated.previous_secret_expires_at.ToDatetime() - rotated.updated_at.ToDatetime()
    assert abs(window.total_seconds() - 24 * 3600) < 60
    too_long = stub.RotateWebhookEndpointSecret(
        pb.RotateWebhookEndpointSecretRequest(id=created.id, overlap_seconds=8 * 86400),
        metadata=tenant.metadata,
    )
    assert await reason_of(too_long) == "INVALID_REQUEST"
    assert (await stack.endpoint(tenant, created.id)).secret == ""


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "http://",
        "https:///path-only",
        "example.com/no-scheme",
        "",
        "https://user:pass@example.com/hook",
        "https://example.com:0/hook",
        "https://" + "a" * 2100 + ".com/",
    ],
)
async def test_bad_urls_are_refused(stack: WebhooksStack, tenant: TenantClient, url: str) -> None:
    assert await reason_of(stack.create_endpoint(tenant, url)) == "INVALID_REQUEST"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://metadata.google.internal/computeMetadata",
    ],
)
async def test_production_refuses_plain_http_and_internal_hosts(production: WebhooksStack, url: str) -> None:
    owner = await production.new_tenant("Production")
    assert await reason_of(production.create_endpoint(owner, url)) == "INVALID_REQUEST"


async def test_production_accepts_a_public_https_url(production: WebhooksStack) -> None:
    owner = await production.new_tenant("Production ok")
    created = await production.create_endpoint(owner, "https://hooks.example.com/payment-engine")
    assert created.url == "https://hooks.example.com/payment-engine"


async def test_the_sandbox_accepts_http_localhost(stack: WebhooksStack, tenant: TenantClient) -> None:
    created = await stack.create_endpoint(tenant, "http://localhost:3000/webhooks/payment-engine")
    assert created.status == pb.WEBHOOK_ENDPOINT_STATUS_ENABLED


async def test_event_type_filters_are_checked(stack: WebhooksStack, tenant: TenantClient) -> None:
    for bad in (["Transaction.Completed"], ["*"], ["transaction"], [".*"], ["x" * 101 + ".y"]):
        assert (
            await reason_of(stack.create_endpoint(tenant, "http://localhost:1/x", bad)) == "INVALID_REQUEST"
        )


async def test_scopes_are_enforced(stack: WebhooksStack) -> None:
    reader = await stack.new_tenant("Reader", scopes=["webhook:read"])
    stranger = await stack.new_tenant("Stranger", scopes=["account:read"])
    assert await reason_of(stack.create_endpoint(reader, "http://localhost:1/x")) == "FORBIDDEN"
    listed = await stack.stub().ListWebhookEndpoints(
        pb.ListWebhookEndpointsRequest(), metadata=reader.metadata
    )
    assert list(listed.endpoints) == []
    denied = stack.stub().ListWebhookEndpoints(pb.ListWebhookEndpointsRequest(), metadata=stranger.metadata)
    assert await reason_of(denied) == "FORBIDDEN"
    anonymous = stack.stub().ListWebhookEndpoints(pb.ListWebhookEndpointsRequest())
    assert await reason_of(anonymous) == "UNAUTHORIZED"


async def test_another_tenants_endpoint_is_not_found(stack: WebhooksStack, tenant: TenantClient) -> None:
    owned = await stack.create_endpoint(tenant, "http://localhost:3000/mine")
    intruder = await stack.new_tenant("Intruder")
    stub = stack.stub()
    meta = intruder.metadata
    calls: list[Awaitable[Any]] = [
        stub.GetWebhookEndpoint(pb.GetWebhookEndpointRequest(id=owned.id), metadata=meta),
        stub.UpdateWebhookEndpoint(
            pb.UpdateWebhookEndpointRequest(
                endpoint=pb.WebhookEndpoint(id=owned.id, url="http://localhost:1/x")
            ),
            metadata=meta,
        ),
        stub.DeleteWebhookEndpoint(pb.DeleteWebhookEndpointRequest(id=owned.id), metadata=meta),
        stub.RotateWebhookEndpointSecret(pb.RotateWebhookEndpointSecretRequest(id=owned.id), metadata=meta),
        stub.EnableWebhookEndpoint(pb.EnableWebhookEndpointRequest(id=owned.id), metadata=meta),
        stub.DisableWebhookEndpoint(pb.DisableWebhookEndpointRequest(id=owned.id), metadata=meta),
        stub.TestWebhookEndpoint(pb.TestWebhookEndpointRequest(id=owned.id), metadata=meta),
        stub.ListWebhookDeliveries(pb.ListWebhookDeliveriesRequest(endpoint_id=owned.id), metadata=meta),
    ]
    assert [await reason_of(call) for call in calls] == ["NOT_FOUND"] * len(calls)
    theirs = await stub.ListWebhookEndpoints(pb.ListWebhookEndpointsRequest(), metadata=meta)
    assert list(theirs.endpoints) == []
    assert (await stack.endpoint(tenant, owned.id)).url == "http://localhost:3000/mine"


async def test_a_tenant_disables_an_endpoint_until_it_enables_it(
    stack: WebhooksStack, tenant: TenantClient
) -> None:
    created = await stack.create_endpoint(tenant, "http://localhost:3000/paused")
    assert not created.HasField("failing_since")
    stub = stack.stub()
    disabled = await stub.DisableWebhookEndpoint(
        pb.DisableWebhookEndpointRequest(id=created.id, reason="receiver under maintenance"),
        metadata=tenant.metadata,
    )
    assert disabled.endpoint.status == pb.WEBHOOK_ENDPOINT_STATUS_DISABLED
    assert disabled.endpoint.disabled_reason == "receiver under maintenance"
    assert disabled.endpoint.HasField("disabled_at")
    again = await stub.DisableWebhookEndpoint(
        pb.DisableWebhookEndpointRequest(id=created.id, reason="other"), metadata=tenant.metadata
    )
    assert again.endpoint.disabled_reason == "receiver under maintenance"
    assert again.endpoint.disabled_at == disabled.endpoint.disabled_at
    assert (await stack.endpoint(tenant, created.id)).status == pb.WEBHOOK_ENDPOINT_STATUS_DISABLED
    enabled = await stub.EnableWebhookEndpoint(
        pb.EnableWebhookEndpointRequest(id=created.id), metadata=tenant.metadata
    )
    assert enabled.endpoint.status == pb.WEBHOOK_ENDPOINT_STATUS_ENABLED
    unnamed = await stub.DisableWebhookEndpoint(
        pb.DisableWebhookEndpointRequest(id=created.id), metadata=tenant.metadata
    )
    assert unnamed.endpoint.disabled_reason == "Disabled by the tenant."
    too_long = stub.DisableWebhookEndpoint(
        pb.DisableWebhookEndpointRequest(id=created.id, reason="x" * 501), metadata=tenant.metadata
    )
    assert await reason_of(too_long) == "INVALID_REQUEST"
