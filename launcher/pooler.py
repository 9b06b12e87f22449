"""PgBouncer in front of PostgreSQL, in transaction pooling mode — the way many operators
run the engine — for `payment-engine up --pooler` and the tests that run the engine
through it.

What the engine needs through a transaction pooler (docs/deploy.md, "PgBouncer"):
- no server-side prepared statements: Debian's PgBouncer (1.18) cannot carry them from
  one server connection to the next, so the services run with
  PE_DATABASE_PREPARED_STATEMENTS=false;
- the per-connection timeouts the services send as the `options` startup parameter are
  set by PgBouncer on every server connection (`connect_query`) instead, and `options`
  is accepted and ignored;
- migrations (a session advisory lock) and LISTEN go straight to PostgreSQL:
  PE_DATABASE_DIRECT_URL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Final, TextIO

from sqlalchemy import make_url

from corelib.db import LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS
from launcher.errors import LaunchError
from launcher.ports import LOOPBACK_HOST, free_port
from launcher.postgres_user import SystemUser, give_to, grant_traverse, postgres_system_user

POOL_MODE: Final = "transaction"
# Server connections per database/user pair, and the client connections it accepts.
DEFAULT_POOL_SIZE: Final = 40
MAX_CLIENT_CONNECTIONS: Final = 2000
READY_TIMEOUT_S: Final = 30.0
READY_POLL_INTERVAL_S: Final = 0.1
STOP_GRACE_S: Final = 10.0
LOG_TAIL_LINES: Final = 20
ENSURE_SCRIPT_TIMEOUT_S: Final = 900
DEBIAN_SBIN: Final = "/usr/sbin"


def pgbouncer_binary() -> str:
    """PgBouncer's path; installs Debian's package when missing (.ci/ensure-pgbouncer)."""
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found:
        return found
    script = Path(__file__).resolve().parents[1] / ".ci" / "ensure-pgbouncer"
    if not script.exists():
        raise LaunchError("pgbouncer is not installed; install Debian's package: apt-get install pgbouncer")
    result = subprocess.run(
        [str(script)], capture_output=True, text=True, timeout=ENSURE_SCRIPT_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise LaunchError(f"pgbouncer could not be installed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


class LocalPgBouncer:
    """One PgBouncer, our child process, on a loopback port, pooling every database of
    the PostgreSQL at `upstream_host:upstream_port` (trust authentication, as the
    embedded PostgreSQL uses on loopback)."""

    def __init__(self, data_dir: Path, *, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.data_dir = data_dir.resolve() / "pgbouncer"
        self.log_path = self.data_dir / "pgbouncer.log"
        self._upstream = (upstream_host, upstream_port)
        self._requested_port = port
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: TextIO | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PgBouncer is not running")
        return self._port

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def pooled_url(self, direct_url: str) -> str:
        """`direct_url` (a URL of the upstream server) as seen through this PgBouncer."""
        return (
            make_url(direct_url).set(host=LOOPBACK_HOST, port=self.port).render_as_string(hide_password=False)
        )

    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        binary = pgbouncer_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        user = postgres_system_user()
        port = self._requested_port or free_port()
        config = self._write_config(port, user)
        command = [binary, str(config)]
        if user is not None:
            # PgBouncer refuses to run as root; it drops to the embedded PostgreSQL's user.
            command[1:1] = ["-u", user.name]
        descriptor = os.open(self.data_dir / "pgbouncer.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._output = os.fdopen(descriptor, "a", encoding="utf-8")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise LaunchError(f"pgbouncer exited at start-up; its log:\n{self.log_tail()}")
            if _accepts(port):
                self._port = port
                return
            time.sleep(READY_POLL_INTERVAL_S)
        self.stop()
        raise LaunchError(
            f"pgbouncer did not listen on {port} within {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process = self._process
        if process is not None:
            # SIGINT: "safe shutdown", waits for clients' transactions to end.
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                if process.poll() is not None:
                    break
                process.send_signal(sig)
                try:
                    process.wait(STOP_GRACE_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self._process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        texts = []
        for path in (self.data_dir / "pgbouncer.out", self.log_path):
            try:
                texts += path.read_text(encoding="utf-8", errors="replace").splitlines()
            except FileNotFoundError:
                continue
        return "\n".join(texts[-lines:])

    def _write_config(self, port: int, user: SystemUser | None) -> Path:
        host, upstream_port = self._upstream
        connect_query = (
            f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {LOCK_TIMEOUT_MS}"
        )
        config = self.data_dir / "pgbouncer.ini"
        config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={host} port={upstream_port} connect_query='{connect_query}'",
                    "",
                    "[pgbouncer]",
                    f"listen_addr = {LOOPBACK_HOST}",
                    f"listen_port = {port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {self.data_dir / 'userlist.txt'}",
                    f"pool_mode = {POOL_MODE}",
                    f"default_pool_size = {DEFAULT_POOL_SIZE}",
                    f"max_client_conn = {MAX_CLIENT_CONNECTIONS}",
                    # The services send their timeouts as `options`; connect_query sets them.
                    "ignore_startup_parameters = extra_float_digits,options",
                    f"logfile = {self.log_path}",
                    # Its console (SHOW CLIENTS, SHOW POOLS) for operators and tests.
                    "admin_users = postgres",
                    # A query waits this long for a server connection (the server may be
                    # restarting) before its client gets an error it can retry.
                    "query_wait_timeout = 30",
                    "server_connect_timeout = 5",
                    "log_connections = 0",
                    "log_disconnections = 0",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        userlist = self.data_dir / "userlist.txt"
        userlist.write_text('"postgres" ""\n', encoding="utf-8")
        if user is not None:
            grant_traverse(self.data_dir)
            for path in (self.data_dir, config, userlist):
                give_to(path, user)
            self.log_path.touch()
            give_to(self.log_path, user)
        return config


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK_HOST, port), timeout=1.0):
            return True
    except OSError:
        return False
