"""The whole engine for tests: every service and the gateway as real processes on free
ports, over the session's PostgreSQL, with its output in a log file shown on failure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from launcher.backoff import RestartLimits
from launcher.credentials import SandboxCredentials
from launcher.embedded_db import EmbeddedPostgres
from launcher.errors import LaunchError
from launcher.output import StreamSink
from launcher.stack import EngineStack, StackOptions
from launcher.supervisor import Supervisor
from tests.harness.postgres import fresh_database

LOG_FILE_NAME: Final = "engine.log"
LOG_TAIL_LINES: Final = 200
# Every test talks from 127.0.0.1, so the per-address limits would tie unrelated tests
# together; tests of the limits themselves start engines with low ones.
GENEROUS_LIMITS: Final = {
    "PE_RATE_LIMIT_ADDRESS_PER_MINUTE": "1000000",
    "PE_RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000000",
    "PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": "1000000",
}


@dataclass(frozen=True)
class EngineHandle:
    """A running engine, as tests see it."""

    base_url: str
    # The developer portal's address (…/portal/).
    portal_url: str
    # Service name → "127.0.0.1:port", for tests that call the gRPC services directly.
    grpc_addrs: dict[str, str]
    credentials: SandboxCredentials
    database_url: str
    service_secret: str
    data_dir: Path
    log_path: Path
    stack: EngineStack
    # What the services connect to: database_url, or PgBouncer's URL for it.
    service_database_url: str = ""

    @property
    def supervisor(self) -> Supervisor:
        """`kill(name, sig)`, `restart(name)`, `wait_ready(name, replacing_pid=…)`, `pid(name)`…"""
        return self.stack.supervisor

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return read_tail(self.log_path, lines)


def read_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_engine(
    postgres: EmbeddedPostgres,
    data_dir: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    restart_limits: RestartLimits | None = None,
    pooler: bool = False,
) -> Iterator[EngineHandle]:
    """Starts an engine on its own fresh database of `postgres`; stops it on exit.
    `extra_env` sets PE_* variables of every process (e.g. looser login throttling);
    `pooler` puts a PgBouncer in transaction pooling mode between the services and it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / LOG_FILE_NAME
    with log_path.open("a", encoding="utf-8") as log:
        options = StackOptions(
            data_dir=data_dir,
            gateway_port=0,
            portal_port=0,
            database_url=fresh_database(postgres, "engine"),
            mode="sandbox",
            log_format="json",
            grpc_ports={},
            extra_env={**GENEROUS_LIMITS, **(extra_env or {})},
            restart_limits=restart_limits,
            pooler=pooler,
        )
        stack = EngineStack(options, StreamSink(log, log_format="json"))
        try:
            running = stack.start()
        except LaunchError as error:
            raise LaunchError(f"{error}\n--- engine log ({log_path}) ---\n{read_tail(log_path)}") from error
        try:
            assert running.credentials is not None, "a sandbox engine always seeds its tenant"
            yield EngineHandle(
                base_url=running.base_url,
                portal_url=running.portal_url or "",
                grpc_addrs=running.grpc_addrs,
                credentials=running.credentials,
                database_url=running.database_url,
                service_secret=running.service_secret,
                data_dir=running.data_dir,
                log_path=log_path,
                stack=stack,
                service_database_url=running.service_database_url,
            )
        finally:
            stack.stop()


class EngineFactory:
    """Starts private engines for tests that would disturb the shared one (a crash loop
    that makes the supervisor give up, different settings); all stop with the test."""

    def __init__(
        self, postgres: EmbeddedPostgres, base_dir: Path, exits: ExitStack, *, pooler: bool = False
    ) -> None:
        self._postgres = postgres
        self._pooler = pooler
        self._base_dir = base_dir
        self._exits = exits
        self.handles: list[EngineHandle] = []

    def __call__(
        self, *, extra_env: Mapping[str, str] | None = None, restart_limits: RestartLimits | None = None
    ) -> EngineHandle:
        data_dir = self._base_dir / f"engine-{len(self.handles) + 1}"
        handle = self._exits.enter_context(
            running_engine(
                self._postgres,
                data_dir,
                extra_env=extra_env,
                restart_limits=restart_limits,
                pooler=self._pooler,
            )
        )
        self.handles.append(handle)
        return handle
