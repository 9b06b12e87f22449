"""The whole engine on one machine: database, migrations, sandbox seed, then every process.

`payment-engine up` runs one of these until Ctrl-C; the test suite runs one per session
(on free ports, in a temporary data directory) and uses its supervisor to crash and
restart single processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy.exc import OperationalError

from corelib.config import DEFAULT_SERVICE_PORTS, MODES
from corelib.migrations import upgrade_all
from launcher.backoff import RestartLimits
from launcher.child import describe_exit
from launcher.credentials import SandboxCredentials, write_credentials_file
from launcher.database import check_connection, normalised_url, redacted
from launcher.embedded_db import DURABLE, EmbeddedPostgres, PostgresTuning
from launcher.errors import LaunchError
from launcher.leftovers import ProcessRegistry, stop_leftovers
from launcher.output import LogSink
from launcher.ports import allocate_ports, free_port, require_free_port
from launcher.secrets_store import load_or_create_service_secret
from launcher.seeding import seed_sandbox
from launcher.supervisor import READY_TIMEOUT_S, Supervisor
from launcher.topology import (
    EngineConfig,
    Topology,
    gateway_installed,
    installed_services,
    portal_installed,
    process_stages,
)

GATEWAY_PORT_DEFAULT: Final = 8080
PORTAL_PORT_DEFAULT: Final = 8081


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


@dataclass(frozen=True)
class RunningEngine:
    base_url: str
    # The developer portal's address, when it runs.
    portal_url: str | None
    grpc_addrs: dict[str, str]
    database_url: str
    service_secret: str
    data_dir: Path
    credentials: SandboxCredentials | None
    credentials_file: Path | None


class EngineStack:
    def __init__(self, options: StackOptions, sink: LogSink) -> None:
        if options.mode not in MODES:
            raise LaunchError(f"mode must be one of {', '.join(MODES)}, not {options.mode!r}")
        self.options = options
        self._sink = sink
        self._postgres: EmbeddedPostgres | None = None
        self._supervisor: Supervisor | None = None
        self._running: RunningEngine | None = None
        self._registry = ProcessRegistry(options.data_dir)

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
        if self._supervisor is not None:
            self._supervisor.stop()
            self._registry.clear()
        if self._postgres is not None:
            self._sink.event("info", "stopping PostgreSQL")
            self._postgres.stop()
            self._postgres = None

    def wait_failure(self, timeout_s: float) -> str | None:
        """Why the engine can no longer run (a process crashing in a loop, PostgreSQL gone),
        or None if it still runs after `timeout_s`."""
        failure = self.supervisor.wait_failure(timeout_s)
        if failure is not None:
            return failure
        if self._postgres is not None:
            returncode = self._postgres.exit_code()
            if returncode is not None:
                return (
                    f"PostgreSQL exited unexpectedly ({describe_exit(returncode)}); "
                    f"see {self._postgres.log_path}:\n{self._postgres.log_tail()}"
                )
        return None

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

        config = EngineConfig(
            database_url=database_url,
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
        )
        self._supervisor.start()

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
