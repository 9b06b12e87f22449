"""Starting and stopping the engine under test (see engine_host.py for why it is a
separate process), and what the benchmark needs to know about it."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from corelib.db import libpq_url
from launcher.database import with_database

ROOT: Final = Path(__file__).resolve().parent.parent
# initdb, migrations, seeding and five processes; slow on a loaded 2-core machine.
START_TIMEOUT_S: Final = 240.0
START_POLL_S: Final = 1.0
STOP_TIMEOUT_S: Final = 60.0
TERMINATE_GRACE_S: Final = 15.0
HOST_STDERR_NAME: Final = "engine-host.stderr"
LOG_TAIL_LINES: Final = 40


class EngineStartError(Exception):
    pass


@dataclass(frozen=True)
class EngineInfo:
    base_url: str
    grpc_addrs: dict[str, str]
    database_url: str
    service_secret: str
    username: str
    password: str
    api_key: str
    tenant_id: str
    pids: dict[str, int]
    postmaster_pid: int
    postgres_port: int
    log_path: Path
    postgres_log: Path

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> EngineInfo:
        return cls(
            base_url=document["baseUrl"],
            grpc_addrs=dict(document["grpcAddrs"]),
            database_url=document["databaseUrl"],
            service_secret=document["serviceSecret"],
            username=document["username"],
            password=document["password"],
            api_key=document["apiKey"],
            tenant_id=document["tenantId"],
            pids={name: int(pid) for name, pid in document["pids"].items()},
            postmaster_pid=int(document["postmasterPid"]),
            postgres_port=int(document["postgresPort"]),
            log_path=Path(document["logPath"]),
            postgres_log=Path(document["postgresLog"]),
        )

    @property
    def libpq_url(self) -> str:
        """The engine's database, for psycopg."""
        return libpq_url(self.database_url)

    def server_database_url(self, database: str) -> str:
        """Another database on the same PostgreSQL server (pgbench's)."""
        return libpq_url(with_database(self.database_url, database))


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class EngineProcess:
    """`with EngineProcess(data_dir, env) as engine:` — the engine runs inside the block."""

    def __init__(self, data_dir: Path, env: Mapping[str, str], *, pooler: bool = False) -> None:
        self._data_dir = data_dir
        self._env = dict(env)
        self._pooler = pooler
        self._process: subprocess.Popen[str] | None = None
        self.info: EngineInfo | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> EngineInfo:
        self._data_dir.mkdir(parents=True, exist_ok=True)
        stderr_path = self._data_dir / HOST_STDERR_NAME
        command = [sys.executable, "-m", "bench.engine_host", "--data-dir", str(self._data_dir)]
        for name, value in self._env.items():
            command += ["--env", f"{name}={value}"]
        if self._pooler:
            command.append("--pooler")
        with stderr_path.open("w", encoding="utf-8") as stderr:
            # A session of its own: a Ctrl-C on the benchmark must not reach the services
            # directly (the supervisor would restart them); the host stops them all when
            # our end of its stdin closes.
            self._process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        line = self._read_first_line()
        try:
            document = json.loads(line) if line else {}
        except json.JSONDecodeError:
            document = {"error": f"unexpected output: {line[:200]}"}
        if "error" in document or "baseUrl" not in document:
            self.stop()
            reason = document.get("error", "the engine host exited before the engine was ready")
            raise EngineStartError(
                f"{reason}\n--- {stderr_path} ---\n{_tail(stderr_path)}\n"
                f"--- {self._data_dir / 'engine.log'} ---\n{_tail(self._data_dir / 'engine.log')}"
            )
        self.info = EngineInfo.from_json(document)
        return self.info

    def _read_first_line(self) -> str:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        for _ in range(int(START_TIMEOUT_S / START_POLL_S) + 1):
            if time.monotonic() >= deadline:
                break
            ready, _, _ = select.select([process.stdout], [], [], START_POLL_S)
            if ready:
                return process.stdout.readline()
            if process.poll() is not None:
                return ""
        return ""

    @property
    def pid(self) -> int | None:
        """The host's own pid: it relays every log line of the engine's processes."""
        return None if self._process is None else self._process.pid

    def failure(self) -> str | None:
        """Why the engine no longer runs, or None while it does."""
        if self._process is None or self._process.poll() is None:
            return None
        return f"the engine stopped (exit code {self._process.returncode}); see {self._data_dir}"

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # The host stops everything it started on SIGTERM as well.
            process.terminate()
            try:
                process.wait(timeout=TERMINATE_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=TERMINATE_GRACE_S)
        if process.stdout is not None:
            process.stdout.close()
