"""The whole engine on one machine: database, migrations, sandbox seed, then every process.

`payment-engine up` runs one of these until Ctrl-C; the test suite runs one per session
(on free ports, in a temporary data directory) and uses its supervisor to crash and
restart single processes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from corelib.config import DEFAULT_SERVICE_PORTS, MODES
from corelib.migrations import upgrade_all
from launcher.backoff import RestartLimits
from launcher.child import describe_exit
from launcher.credentials import SandboxCredentials, write_credentials_file
from launcher.database import check_connection, normalised_url, redacted
from launcher.embedded_db import DURABLE, EmbeddedPostgres, PostgresTuning
from launcher.errors import LaunchError
from launcher.instance_status import ProcessEntry, clear_status, write_status
from launcher.leftovers import ProcessRegistry, stop_leftovers
from launcher.output import LogSink
from launcher.pooler import LocalPgBouncer
from launcher.ports import LOOPBACK_HOST, allocate_ports, free_port, require_free_port
from launcher.secrets_store import load_or_create_service_secret
from launcher.seeding import seed_sandbox
from launcher.supervisor import READY_TIMEOUT_S, Supervisor
from launcher.topology import (
    GATEWAY_NAME,
    PORTAL_NAME,
    EngineConfig,
    Topology,
    gateway_installed,
    installed_services,
    portal_installed,
    process_stages,
)

GATEWAY_PORT_DEFAULT: Final = 8080
PORTAL_PORT_DEFAULT: Final = 8081
POSTGRES_PORT: Final = 5432


@dataclass(frozen=True)
class StackOptions:
    data_dir: Path
    # 0 takes any free port (tests); a taken port is an error naming `--port`.
    gateway_port: int = GATEWAY_PORT_DEFAULT
    # The developer portal's preferred port, replaced by a free one when taken (its URL is
    # printed); 0 takes any free port; None runs no portal. `portal_port_exact` makes a
    # taken port an error naming `--portal-port` instead (the user asked for that one).
    portal_port: int | None = PORTAL_PORT_DEFAULT
    portal_port_exact: bool = False
    # None runs the embedded PostgreSQL in data_dir.
    database_url: str | None = None
    mode: str = "sandbox"
    log_format: str = "json"
    # Preferred gRPC ports, so the README's addresses usually hold; a taken one (or 0) is
    # replaced by a free one, since nothing outside the engine depends on them.
    grpc_ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_PORTS))
    postgres_tuning: PostgresTuning = DURABLE
    postgres_port: int | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    restart_limits: RestartLimits | None = None
    ready_timeout_s: float = READY_TIMEOUT_S
    # Run the services through a local PgBouncer in transaction pooling mode.
    pooler: bool = False


@dataclass(frozen=True)
class RunningEngine:
    base_url: str
    # The developer portal's address, when it runs.
    portal_url: str | None
    grpc_addrs: dict[str, str]
    # The server itself (migrations, operators, tests); the services may go through a pooler.
    database_url: str
    service_secret: str
    data_dir: Path
    credentials: SandboxCredentials | None
    credentials_file: Path | None
    # What the services connect to: database_url, or the pooler's URL with --pooler.
    service_database_url: str = ""


class EngineStack:
    def __init__(self, options: StackOptions, sink: LogSink) -> None:
        if options.mode not in MODES:
            raise LaunchError(f"mode must be one of {', '.join(MODES)}, not {options.mode!r}")
        self.options = options
        self._sink = sink
        self._postgres: EmbeddedPostgres | None = None
        self._pooler: LocalPgBouncer | None = None
        self._supervisor: Supervisor | None = None
        self._running: RunningEngine | None = None
        self._registry = ProcessRegistry(options.data_dir)
        self._topology: Topology | None = None
        self._database_url = ""
        self._postgres_restarts = 0
        self._stopping = threading.Event()

    @property
    def supervisor(self) -> Supervisor:
        if self._supervisor is None:
            raise RuntimeError("the engine is not started")
        return self._supervisor

    @property
    def postgres(self) -> EmbeddedPostgres | None:
        return self._postgres

    @property
    def running(self) -> RunningEngine:
        if self._running is None:
            raise RuntimeError("the engine is not started")
        return self._running

    def start(self) -> RunningEngine:
        try:
            self._running = self._start()
        except BaseException:
            self.stop()
            raise
        return self._running

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.stop()
            self._registry.clear()
        clear_status(self.options.data_dir.resolve())
        if self._pooler is not None:
            self._sink.event("info", "stopping PgBouncer")
            self._pooler.stop()
            self._pooler = None
        if self._postgres is not None:
            self._sink.event("info", "stopping PostgreSQL")
            self._postgres.stop()
            self._postgres = None

    def wait_failure(self, timeout_s: float) -> str | None:
        """Why the engine can no longer run, or None if it still runs after `timeout_s`.
        A crashing service never ends it (the supervisor keeps retrying it); an embedded
        PostgreSQL that exits is started again on its port, and only one that cannot be
        started again is a failure."""
        self._stopping.wait(timeout_s)
        postgres = self._postgres
        if postgres is None or self._stopping.is_set():
            return None
        returncode = postgres.exit_code()
        if returncode is None:
            return None
        self._sink.event(
            "error",
            f"PostgreSQL exited unexpectedly ({describe_exit(returncode)}); starting it again",
            log=str(postgres.log_path),
        )
        try:
            postgres.start_again()
        except LaunchError as error:
            return f"PostgreSQL exited ({describe_exit(returncode)}) and did not start again: {error}"
        self._postgres_restarts += 1
        self._sink.event("info", "PostgreSQL is ready again", port=postgres.port)
        self.publish_status()
        return None

    def publish_status(self) -> None:
        """Rewrites the data directory's instance.json (what `payment-engine status` reads)."""
        topology = self._topology
        supervisor = self._supervisor
        if topology is None or supervisor is None or self._stopping.is_set():
            return
        entries = [
            ProcessEntry(
                name="postgres",
                kind="postgres",
                address=self._database_url,
                pid=None if self._postgres is None else self._postgres.pid,
                state="running",
                restarts=self._postgres_restarts,
            )
        ]
        if self._pooler is not None:
            entries.append(
                ProcessEntry(
                    name="pgbouncer",
                    kind="tcp",
                    address=f"{LOOPBACK_HOST}:{self._pooler.port}",
                    pid=self._pooler.pid,
                    state="running",
                    restarts=0,
                )
            )
        http_readiness = {
            GATEWAY_NAME: f"{topology.base_url}/readyz",
            PORTAL_NAME: f"http://{LOOPBACK_HOST}:{topology.portal_port}/portal/readyz",
        }
        for report in supervisor.reports():
            readiness = http_readiness.get(report.name)
            entries.append(
                ProcessEntry(
                    name=report.name,
                    kind="http" if readiness else "grpc",
                    address=readiness or topology.grpc_addr(report.name),
                    pid=report.pid,
                    state=report.state,
                    restarts=report.crash_restarts,
                    failing=report.failing,
                )
            )
        write_status(self.options.data_dir.resolve(), base_url=topology.base_url, processes=entries)

    def _start(self) -> RunningEngine:
        options = self.options
        data_dir = options.data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        stop_leftovers(data_dir, self._sink)
        gateway_port = options.gateway_port or free_port()
        require_free_port(gateway_port, flag="--port")
        portal_port = self._portal_port(gateway_port)

        database_url = self._database(data_dir)
        self._sink.event("info", "applying migrations", database=redacted(database_url))
        try:
            migrated = upgrade_all(database_url)
        except OperationalError as error:
            raise LaunchError(f"migrations failed on {redacted(database_url)}: {error.orig}") from error
        self._sink.event("info", "migrations applied", schemas=",".join(migrated))
        # The engine's processes reach an embedded server over its unix socket.
        local_url = self._postgres.socket_url() if self._postgres is not None else database_url
        service_database_url = self._start_pooler(data_dir, database_url) if options.pooler else local_url

        service_secret = load_or_create_service_secret(data_dir)
        credentials = seed_sandbox(database_url) if options.mode == "sandbox" else None

        services = installed_services()
        grpc_ports = allocate_ports(
            {name: options.grpc_ports.get(name, 0) for name in services}, taken={gateway_port, portal_port}
        )
        for name, port in grpc_ports.items():
            if options.grpc_ports.get(name, 0) not in (0, port):
                self._sink.event("info", f"port {options.grpc_ports[name]} is taken; {name} uses {port}")
        topology = Topology(
            grpc_ports=grpc_ports,
            gateway_port=gateway_port,
            with_gateway=gateway_installed(),
            portal_port=portal_port,
        )
        if not topology.with_gateway:
            self._sink.event("warning", "the gateway is not installed; the REST API is unavailable")

        self._topology = topology
        self._database_url = database_url
        config = EngineConfig(
            database_url=service_database_url,
            database_direct_url=local_url,
            # Debian's PgBouncer (1.18) cannot carry prepared statements across server
            # connections in transaction mode.
            prepared_statements=not options.pooler,
            mode=options.mode,
            log_format=options.log_format,
            service_secret=service_secret,
            extra_env=options.extra_env,
        )
        self._supervisor = Supervisor(
            process_stages(topology, config),
            self._sink,
            limits=options.restart_limits,
            ready_timeout_s=options.ready_timeout_s,
            on_spawn=self._registry.record,
            on_change=self.publish_status,
        )
        self._supervisor.start()
        self.publish_status()

        credentials_file = (
            write_credentials_file(data_dir, topology.base_url, credentials) if credentials else None
        )
        return RunningEngine(
            base_url=topology.base_url,
            portal_url=topology.portal_url,
            grpc_addrs=topology.grpc_addrs,
            database_url=database_url,
            service_secret=service_secret,
            data_dir=data_dir,
            credentials=credentials,
            credentials_file=credentials_file,
            service_database_url=service_database_url,
        )

    def _portal_port(self, gateway_port: int) -> int:
        """0 when no portal runs."""
        wanted = self.options.portal_port
        if wanted is None or not portal_installed():
            return 0
        if self.options.portal_port_exact and wanted:
            require_free_port(wanted, flag="--portal-port")
            return wanted
        port = allocate_ports({"portal": wanted}, taken={gateway_port})["portal"]
        if wanted not in (0, port):
            self._sink.event("info", f"port {wanted} is taken; the portal uses {port}")
        return port

    def _start_pooler(self, data_dir: Path, database_url: str) -> str:
        url = make_url(database_url)
        self._pooler = LocalPgBouncer(
            data_dir, upstream_host=url.host or LOOPBACK_HOST, upstream_port=url.port or POSTGRES_PORT
        )
        self._sink.event("info", "starting PgBouncer (transaction pooling)")
        self._pooler.start()
        self._sink.event("info", "PgBouncer is ready", port=self._pooler.port)
        return self._pooler.pooled_url(database_url)

    def _database(self, data_dir: Path) -> str:
        if self.options.database_url is not None:
            url = normalised_url(self.options.database_url)
            check_connection(url)
            return url
        self._postgres = EmbeddedPostgres(
            data_dir, tuning=self.options.postgres_tuning, port=self.options.postgres_port
        )
        self._sink.event("info", "starting PostgreSQL", data_dir=str(self._postgres.pgdata))
        self._postgres.start()
        self._sink.event("info", "PostgreSQL is ready", port=self._postgres.port)
        return self._postgres.url()
