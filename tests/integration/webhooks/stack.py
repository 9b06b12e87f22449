"""The webhooks service as its tests run it: the real gRPC servers (auth, and one or more
webhooks replicas with their dispatchers) in this event loop on ephemeral ports, over the
session's migrated database, with tenants provisioned through the auth service's own
operator functions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import grpc
from google.protobuf import struct_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2 as pb
from payment_engine_protos.webhooks.v1 import webhooks_pb2_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.auth_client import AuthClient, ServiceTokenSource
from corelib.config import Settings
from corelib.db import create_engine
from corelib.grpc_pipeline import error_from_rpc
from corelib.grpc_server import start_server
from corelib.ids import new_id
from corelib.timestamps import to_timestamp, utc_now
from services.auth import provisioning
from services.auth import server as auth_server
from services.auth.scopes import ALL_SCOPES
from services.webhooks import server as webhooks_server
from services.webhooks.target_safety import Resolver, system_resolver

if TYPE_CHECKING:
    from payment_engine_protos.webhooks.v1.webhooks_pb2_grpc import WebhooksServiceAsyncStub

SERVICE_SECRET: Final = "webhooks-tests-service-secret"
LOOPBACK: Final = "127.0.0.1"
# Fast enough for tests, slow enough that a retry is clearly a retry.
TEST_RETRY_SCHEDULE: Final = "200ms,400ms,800ms,1600ms,3s"
TEST_TIMEOUT_MS: Final = 1000
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TenantClient:
    tenant_id: str
    api_key: str

    @property
    def metadata(self) -> Metadata:
        return (("x-api-key", self.api_key),)


@dataclass
class WebhooksStack:
    settings: Settings
    database_url: str
    engine: AsyncEngine
    webhooks_addrs: list[str]
    _channels: list[grpc.aio.Channel] = field(default_factory=list)
    _tokens: ServiceTokenSource | None = None

    def stub(self, replica: int = 0) -> WebhooksServiceAsyncStub:
        return webhooks_pb2_grpc.WebhooksServiceStub(self._channels[replica])

    async def new_tenant(self, name: str, scopes: Sequence[str] = ALL_SCOPES) -> TenantClient:
        tenant_id = await provisioning.create_tenant(self.database_url, name)
        _, secret = await provisioning.create_api_key(
            self.database_url, tenant_id, f"{name} key", list(scopes), None
        )
        return TenantClient(tenant_id, secret)

    async def service_metadata(self) -> Metadata:
        assert self._tokens is not None
        return await self._tokens.metadata()

    async def publish(self, events: Sequence[pb.Event], replica: int = 0) -> pb.PublishEventsResponse:
        return await self.stub(replica).PublishEvents(
            pb.PublishEventsRequest(events=list(events)), metadata=await self.service_metadata()
        )

    async def create_endpoint(
        self, tenant: TenantClient, url: str, event_types: Sequence[str] = (), description: str = ""
    ) -> pb.WebhookEndpoint:
        response = await self.stub().CreateWebhookEndpoint(
            pb.CreateWebhookEndpointRequest(url=url, event_types=list(event_types), description=description),
            metadata=tenant.metadata,
        )
        return response.endpoint

    async def deliveries(self, tenant: TenantClient, endpoint_id: str) -> list[pb.WebhookDelivery]:
        response = await self.stub().ListWebhookDeliveries(
            pb.ListWebhookDeliveriesRequest(endpoint_id=endpoint_id, page_size=100), metadata=tenant.metadata
        )
        return list(response.deliveries)

    async def endpoint(self, tenant: TenantClient, endpoint_id: str) -> pb.WebhookEndpoint:
        response = await self.stub().GetWebhookEndpoint(
            pb.GetWebhookEndpointRequest(id=endpoint_id), metadata=tenant.metadata
        )
        return response.endpoint


def event(
    tenant_id: str,
    event_type: str = "transaction.completed",
    data: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    created_at: datetime | None = None,
) -> pb.Event:
    payload = struct_pb2.Struct()
    payload.update(data if data is not None else transaction_data())
    return pb.Event(
        event_id=event_id or new_id("evt"),
        event_type=event_type,
        tenant_id=tenant_id,
        created_at=to_timestamp(created_at or utc_now()),
        data=payload,
    )


def transaction_data(**changes: Any) -> dict[str, Any]:
    """A transaction event's data with the guide's field names."""
    data: dict[str, Any] = {
        "transactionId": new_id("txn"),
        "transactionReference": "ORDER-1001",
        "amount": 100.25,
        "currencyCode": "USD",
        "status": "COMPLETED",
        "failureReason": "",
    }
    data.update(changes)
    return data


async def reason_of(call: Awaitable[Any]) -> str:
    """The guide code a failing call answers with; fails the test if the call succeeds."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return error_from_rpc(exc).reason
    raise AssertionError("the call succeeded")


async def eventually(check: Any, *, timeout_s: float = 15.0, interval_s: float = 0.05) -> Any:
    """Polls an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout_s}s: last result {result!r}")
        await asyncio.sleep(interval_s)


@asynccontextmanager
async def running_webhooks(
    database_url: str,
    *,
    replicas: int = 1,
    mode: str = "sandbox",
    retry_schedule: str = TEST_RETRY_SCHEDULE,
    timeout_ms: int = TEST_TIMEOUT_MS,
    resolver: Resolver = system_resolver,
    dispatch: bool = True,
) -> AsyncIterator[WebhooksStack]:
    """`dispatch=False` runs the API without the background dispatcher, to play a
    replica that claimed work and died."""
    settings = Settings(
        database_url=database_url,
        mode=mode,
        service_secret=SERVICE_SECRET,
        webhook_retry_schedule=retry_schedule,
        webhook_timeout_ms=timeout_ms,
        db_pool_size=4,
    )
    engines: list[AsyncEngine] = []
    servers: list[grpc.aio.Server] = []
    tasks: list[asyncio.Task[None]] = []
    stop_hooks: list[Any] = []
    channels: list[grpc.aio.Channel] = []
    auth_engine = create_engine(database_url, application_name="auth-tests", pool_size=4)
    engines.append(auth_engine)
    try:
        auth_process, auth_authenticator = await auth_server.build(settings, auth_engine)
        auth, auth_port = await start_server(auth_process, auth_authenticator, host=LOOPBACK, port=0)
        servers.append(auth)
        tasks.append(asyncio.create_task(auth_process.feed.run()))
        settings = replace(settings, auth_addr=f"{LOOPBACK}:{auth_port}")
        addrs: list[str] = []
        for replica in range(replicas):
            engine = create_engine(database_url, application_name=f"webhooks-tests-{replica}", pool_size=8)
            process, authenticator = webhooks_server.build(settings, engine, resolver=resolver)
            server, port = await start_server(process, authenticator, host=LOOPBACK, port=0)
            servers.append(server)
            stop_hooks.extend(process.on_stop)
            tasks.append(asyncio.create_task(process.feed.run()))
            if dispatch:
                tasks.extend(asyncio.create_task(job()) for job in process.background)
            addrs.append(f"{LOOPBACK}:{port}")
        settings = replace(settings, webhooks_addr=addrs[0])
        channels = [grpc.aio.insecure_channel(addr) for addr in addrs]
        auth_channel = grpc.aio.insecure_channel(settings.auth_addr)
        channels.append(auth_channel)
        tokens = ServiceTokenSource(
            AuthClient(auth_channel), service_name="accounts", service_secret=SERVICE_SECRET
        )
        checker = create_engine(database_url, application_name="webhooks-tests-checks", pool_size=2)
        engines.append(checker)
        yield WebhooksStack(settings, database_url, checker, addrs, channels, tokens)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in reversed(servers):
            await server.stop(0)
        for hook in stop_hooks:
            await hook()
        for channel in channels:
            await channel.close()
        # Leaves no deliveries behind for the next test's dispatchers.
        async with auth_engine.begin() as conn:
            await conn.execute(text("DELETE FROM webhooks.delivery_attempts"))
            await conn.execute(text("DELETE FROM webhooks.endpoints"))
            await conn.execute(text("DELETE FROM webhooks.events"))
        for engine in engines:
            await engine.dispose()
