"""Bootstrap of one service process: a grpc.aio server with health, reflection, metrics,
the call pipeline, and a clean shutdown on SIGTERM/SIGINT.

grpc.aio rather than the threaded server: every handler waits on PostgreSQL or another
service, and coroutines carry thousands of such waits on one core without a thread each.
`grpcio-testing` drives only the synchronous API, so service tests start this very
server on an ephemeral port instead.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
import structlog
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib.authentication import Authenticator
from corelib.config import DEFAULT_SERVICE_PORTS, Settings, load_settings
from corelib.db import create_engine
from corelib.grpc_pipeline import CallPipeline
from corelib.idempotency import IdempotentRequests
from corelib.logging import configure_logging

log = structlog.get_logger("corelib.server")

SHUTDOWN_GRACE_S: Final = 5.0
MESSAGE_BYTES_MAX: Final = 4 * 1024 * 1024
CONCURRENT_RPCS_MAX: Final = 2048


@dataclass
class ServiceProcess:
    """What a service contributes to its process: servicers and background tasks."""

    name: str
    service_names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # What keeps this replica's caches current (revocation feeds); unlike workers, a
    # replica that serves calls always runs them.
    listeners: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # Where POSTs' Idempotency-Keys are kept, and the RPCs that keep their own.
    idempotency: IdempotentRequests | None = None
    idempotency_exempt: frozenset[str] = frozenset()


async def start_server(
    process: ServiceProcess, authenticator: Authenticator, *, host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(
        interceptors=[
            CallPipeline(
                authenticator,
                idempotency=process.idempotency,
                idempotency_exempt=process.idempotency_exempt,
            )
        ],
        options=[
            ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
            ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=CONCURRENT_RPCS_MAX,
    )
    process.register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*process.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port} (address in use?)")
    await server.start()
    for name in [*process.service_names, ""]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound


async def serve_forever(
    process: ServiceProcess,
    authenticator: Authenticator,
    *,
    host: str,
    port: int,
    metrics_port: int = 0,
) -> None:
    if metrics_port:
        start_http_server(metrics_port, addr=host)
    server, bound = await start_server(process, authenticator, host=host, port=port)
    log.info("service_started", address=f"{host}:{bound}", services=list(process.service_names))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(job(), name=f"{process.name}-worker")
        for job in [*process.listeners, *process.background]
    ]
    stop_task = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stop_task, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stop_task and task.exception() is not None:
            log.error("worker_crashed", error=repr(task.exception()))
    log.info("service_stopping")
    await server.stop(SHUTDOWN_GRACE_S)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for hook in process.on_stop:
        await hook()
    log.info("service_stopped")


ProcessBuilder = Callable[[Settings, AsyncEngine], Awaitable[tuple[ServiceProcess, Authenticator]]]


def run_service(name: str, build: ProcessBuilder) -> None:
    """The `main()` of every service process: settings from the environment, logging,
    the service's own connection pool, then serve until SIGTERM."""
    settings = load_settings()
    configure_logging(name, log_format=settings.log_format, level=settings.log_level)

    async def run() -> None:
        engine = create_engine(settings.database_url, application_name=name, pool_size=settings.db_pool_size)
        process, authenticator = await build(settings, engine)
        await serve_forever(
            process,
            authenticator,
            host=settings.grpc_host,
            port=settings.grpc_port or DEFAULT_SERVICE_PORTS[name],
            metrics_port=settings.metrics_port,
        )

    # uvloop: the same asyncio, with its event loop in C — every RPC and query pays less.
    uvloop.run(run())


def periodic_job(
    interval_s: float, job: Callable[[], Awaitable[Any]], *, name: str
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background job that runs `job` every `interval_s`; a failing round is logged and
    the next one runs as planned."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
            except Exception:
                log.exception("periodic_job_failed", job=name)

    return loop
