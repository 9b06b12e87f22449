"""Bootstrap of one service process: a grpc.aio server with health, reflection, metrics,
the call pipeline, and a clean shutdown on SIGTERM/SIGINT.

grpc.aio rather than the threaded server: every handler waits on PostgreSQL or another
service, and coroutines carry thousands of such waits on one core without a thread each.
`grpcio-testing` drives only the synchronous API, so service tests start this very
server on an ephemeral port instead.

The process rides out a PostgreSQL restart: its background jobs run supervised (a job
that fails is restarted in-process after a bounded delay, never ending the process),
and its gRPC health follows the database (NOT_SERVING while it is away).
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
from corelib.call_tunnel import TUNNEL_SERVICE_NAME
from corelib.call_tunnel_server import CallTunnelServicer, RecordingServer, TunnelTargets, add_call_tunnel
from corelib.config import DEFAULT_SERVICE_PORTS, Settings, load_settings
from corelib.database_health import watch_database
from corelib.db import create_engine
from corelib.garbage_collection import freeze_startup_objects
from corelib.grpc_pipeline import CallPipeline
from corelib.idempotency import IdempotentRequests
from corelib.job_supervision import supervise_job
from corelib.logging import configure_logging
from corelib.notification_feed import NotificationFeed

log = structlog.get_logger("corelib.server")

SHUTDOWN_GRACE_S: Final = 5.0
MESSAGE_BYTES_MAX: Final = 4 * 1024 * 1024
CONCURRENT_RPCS_MAX: Final = 2048
# The health "service" a liveness probe asks: SERVING for as long as the process runs,
# even while the database is away (the overall "" status, for readiness, is then
# NOT_SERVING) — restarting a process does not bring a database back.
LIVENESS_SERVICE: Final = "liveness"


@dataclass
class ServiceProcess:
    """What a service contributes to its process: servicers, background tasks, and the
    one feed of notifications its components subscribed to while it was built."""

    name: str
    service_names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    # What keeps this replica's caches current (revocations, new accounts) and wakes its
    # relay; unlike the background workers, a replica that serves calls always runs it.
    feed: NotificationFeed
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # Where POSTs' Idempotency-Keys are kept, and the RPCs that keep their own.
    idempotency: IdempotentRequests | None = None
    idempotency_exempt: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StartedServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    tunnel: CallTunnelServicer


async def start_server(
    process: ServiceProcess, authenticator: Authenticator, *, host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    started = await start_service_server(process, authenticator, host=host, port=port)
    return started.server, started.port


async def start_service_server(
    process: ServiceProcess, authenticator: Authenticator, *, host: str, port: int
) -> StartedServer:
    """The process's servicers, health, reflection and call tunnel, serving on host:port."""
    interceptors = [
        CallPipeline(
            authenticator,
            idempotency=process.idempotency,
            idempotency_exempt=process.idempotency_exempt,
        )
    ]
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", MESSAGE_BYTES_MAX),
            ("grpc.max_send_message_length", MESSAGE_BYTES_MAX),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=CONCURRENT_RPCS_MAX,
    )
    # The tunnel reaches the same handlers behind the same pipeline as direct calls.
    targets = TunnelTargets(interceptors)
    process.register(RecordingServer(server, targets))  # type: ignore[arg-type]
    tunnel = add_call_tunnel(server, targets)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*process.service_names, TUNNEL_SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port} (address in use?)")
    await server.start()
    await health_servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await _set_serving(health_servicer, process, serving=True)
    return StartedServer(server, bound, health_servicer, tunnel)


async def _set_serving(
    health_servicer: health.aio.HealthServicer, process: ServiceProcess, *, serving: bool
) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in [*process.service_names, ""]:
        await health_servicer.set(name, status)


async def serve_forever(
    process: ServiceProcess,
    authenticator: Authenticator,
    *,
    host: str,
    port: int,
    metrics_port: int = 0,
    database: AsyncEngine | None = None,
) -> None:
    """Serves until SIGTERM/SIGINT. Background jobs are supervised: one that fails is
    restarted, so only a signal stops the process. With `database`, gRPC health reports
    NOT_SERVING while that database does not answer."""
    if metrics_port:
        start_http_server(metrics_port, addr=host)
    started = await start_service_server(process, authenticator, host=host, port=port)
    server, health_servicer = started.server, started.health
    log.info("service_started", address=f"{host}:{started.port}", services=list(process.service_names))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(supervise_job(_job_name(job), job), name=f"{process.name}-{_job_name(job)}")
        for job in [process.feed.run, *process.background]
    ]
    if database is not None:

        async def follow_database(available: bool) -> None:
            await _set_serving(health_servicer, process, serving=available)

        tasks.append(
            asyncio.create_task(watch_database(database, follow_database), name=f"{process.name}-readiness")
        )
    await stop.wait()
    log.info("service_stopping")
    started.tunnel.drain()
    await server.stop(SHUTDOWN_GRACE_S)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for hook in process.on_stop:
        await hook()
    log.info("service_stopped")


def _job_name(job: Callable[..., object]) -> str:
    return str(getattr(job, "__qualname__", None) or getattr(job, "__name__", None) or "job")


ProcessBuilder = Callable[[Settings, AsyncEngine], Awaitable[tuple[ServiceProcess, Authenticator]]]


def run_service(name: str, build: ProcessBuilder) -> None:
    """The `main()` of every service process: settings from the environment, logging,
    the service's own connection pool, then serve until SIGTERM."""
    settings = load_settings()
    configure_logging(name, log_format=settings.log_format, level=settings.log_level)

    async def run() -> None:
        engine = create_engine(
            settings.database_url,
            application_name=name,
            pool_size=settings.db_pool_size,
            prepared_statements=settings.database_prepared_statements,
        )
        process, authenticator = await build(settings, engine)
        freeze_startup_objects()
        await serve_forever(
            process,
            authenticator,
            host=settings.grpc_host,
            port=settings.grpc_port or DEFAULT_SERVICE_PORTS[name],
            metrics_port=settings.metrics_port,
            database=engine,
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
