"""Entry point of the webhooks service process: `python -m services.webhooks.server`.

Besides the gRPC API, the process runs the delivery dispatcher and the retention job in
the background; every replica runs both, safely (SKIP LOCKED claims and leases)."""

from __future__ import annotations

from typing import Final

import grpc
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.auth_client import remote_authenticator
from corelib.authentication import Authenticator
from corelib.config import Settings
from corelib.direct_sql import DirectPool
from corelib.grpc_server import ServiceProcess, run_service
from corelib.idempotency import IdempotentRequests, purge_job
from corelib.notification_feed import NotificationFeed
from services.webhooks.api import WebhooksApi
from services.webhooks.delivery import DeliveryRecorder
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.endpoints import Endpoints
from services.webhooks.events import Events
from services.webhooks.retention import run_retention
from services.webhooks.retry_schedule import parse_schedule
from services.webhooks.schema import idempotent_requests
from services.webhooks.sender import WebhookSender
from services.webhooks.target_safety import Resolver, system_resolver

# Publishing events: each producer's relay sends one call at a time, and each call takes
# one connection for its two statements.
DIRECT_CONNECTIONS_MAX: Final = 4
SERVICE_NAMES = (webhooks_pb2.DESCRIPTOR.services_by_name["WebhooksService"].full_name,)
SECRET_BEARING_RPCS = frozenset(
    f"/{SERVICE_NAMES[0]}/{name}" for name in ("CreateWebhookEndpoint", "RotateWebhookEndpointSecret")
)


def build(
    settings: Settings, engine: AsyncEngine, *, resolver: Resolver = system_resolver
) -> tuple[ServiceProcess, Authenticator]:
    feed = NotificationFeed(settings.direct_database_url, process_name="webhooks")
    remote = remote_authenticator(settings, feed, service_name="webhooks")
    authenticator = remote.authenticator
    timeout_s = settings.webhook_timeout_ms / 1000
    if timeout_s <= 0:
        raise ValueError("PE_WEBHOOK_TIMEOUT_MS must be positive")
    schedule = parse_schedule(settings.webhook_retry_schedule)
    production = not settings.is_sandbox
    sender = WebhookSender(timeout_s=timeout_s, allow_internal_targets=not production, resolver=resolver)
    recorder = DeliveryRecorder(engine, schedule)
    dispatcher = Dispatcher(engine, sender, recorder, timeout_s=timeout_s)
    endpoints = Endpoints(
        engine,
        production=production,
        sender=sender,
        recorder=recorder,
        timeout_s=timeout_s,
        deliveries_due=dispatcher.wake,
    )
    direct = DirectPool(
        settings.database_url,
        application_name="webhooks-events",
        connections_max=DIRECT_CONNECTIONS_MAX,
        prepared_statements=settings.database_prepared_statements,
    )
    api = WebhooksApi(endpoints, Events(engine, direct, deliveries_due=dispatcher.wake))

    def register(server: grpc.aio.Server) -> None:
        webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server(api, server)

    async def retention() -> None:
        await run_retention(engine)

    async def dispose() -> None:
        await sender.aclose()
        await direct.close()
        await engine.dispose()

    idempotency = IdempotentRequests(engine, idempotent_requests)
    process = ServiceProcess(
        name="webhooks",
        service_names=SERVICE_NAMES,
        register=register,
        feed=feed,
        background=[dispatcher.run, retention, purge_job(idempotency)],
        on_stop=[dispose],
        idempotency=idempotency,
        # Their answers carry a signing secret, which is not kept anywhere else readable.
        idempotency_exempt=SECRET_BEARING_RPCS,
    )
    return process, authenticator


async def _build_process(settings: Settings, engine: AsyncEngine) -> tuple[ServiceProcess, Authenticator]:
    return build(settings, engine)


def main() -> None:
    run_service("webhooks", _build_process)


if __name__ == "__main__":
    main()
