"""What a running `payment-engine up` publishes about itself in its data directory, and
what `payment-engine status` makes of it.

The launcher rewrites `instance.json` at every start, crash, restart and stop of a
process: the launcher's pid, the base URL, and per process its pid, address, state and
restart count. `status` reads it and asks every process directly whether it is healthy
(gRPC health, the gateway's /readyz, a query on PostgreSQL) — the file says where to
look, the processes say how they are.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import psycopg

from corelib.db import libpq_url
from launcher.database import redacted
from launcher.instance_lock import LOCK_FILE_NAME
from launcher.pids import pid_alive
from launcher.private_files import PRIVATE_FILE_MODE, read_json_object
from launcher.readiness import GrpcHealthProbe, HttpReadyProbe, Probe, TcpProbe

STATUS_FILE_NAME: Final = "instance.json"
DATABASE_CHECK_TIMEOUT_S: Final = 3

# `payment-engine status` exit codes (those of an LSB init script's `status`).
EXIT_HEALTHY: Final = 0
EXIT_UNHEALTHY: Final = 1
EXIT_NOT_RUNNING: Final = 3


@dataclass(frozen=True)
class ProcessEntry:
    name: str
    # "grpc" (gRPC health), "http" (GET address → 200), "postgres", "tcp".
    kind: str
    address: str
    pid: int | None
    state: str
    restarts: int
    failing: bool = False


def write_status(data_dir: Path, *, base_url: str, processes: Sequence[ProcessEntry]) -> None:
    document = {
        "launcherPid": os.getpid(),
        "baseUrl": base_url,
        "updatedAt": datetime.now(UTC).isoformat(),
        "processes": [asdict(entry) for entry in processes],
    }
    path = data_dir / STATUS_FILE_NAME
    # Atomic (a reader sees the old file or the new one) but not fsynced: it is rewritten
    # often, and after a power loss there is no running instance to describe anyway.
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    os.replace(scratch, path)


def clear_status(data_dir: Path) -> None:
    (data_dir / STATUS_FILE_NAME).unlink(missing_ok=True)


@dataclass(frozen=True)
class ProcessHealth:
    entry: ProcessEntry
    alive: bool
    healthy: bool


@dataclass(frozen=True)
class InstanceReport:
    running: bool
    base_url: str
    launcher_pid: int | None
    processes: list[ProcessHealth]

    @property
    def healthy(self) -> bool:
        return self.running and all(process.healthy for process in self.processes)

    @property
    def exit_code(self) -> int:
        if not self.running:
            return EXIT_NOT_RUNNING
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY


def launcher_holds_lock(data_dir: Path) -> bool:
    """A running launcher holds the data directory's instance lock for its whole life; a
    pid in a stale file could belong to anything since."""
    try:
        handle = (data_dir / LOCK_FILE_NAME).open("r", encoding="utf-8")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


def inspect_instance(data_dir: Path) -> InstanceReport:
    document = read_json_object(data_dir / STATUS_FILE_NAME) if launcher_holds_lock(data_dir) else None
    launcher_pid = document.get("launcherPid") if document else None
    if document is None or not isinstance(launcher_pid, int) or not pid_alive(launcher_pid):
        return InstanceReport(running=False, base_url="", launcher_pid=None, processes=[])
    raw_processes = document.get("processes")
    entries = [ProcessEntry(**item) for item in (raw_processes if isinstance(raw_processes, list) else [])]
    processes = [_health(entry) for entry in entries]
    return InstanceReport(
        running=True,
        base_url=str(document.get("baseUrl", "")),
        launcher_pid=launcher_pid,
        processes=processes,
    )


def _health(entry: ProcessEntry) -> ProcessHealth:
    if entry.pid is None and entry.kind == "postgres":
        alive = True  # an external PostgreSQL: not ours to see, only to ask
    else:
        alive = entry.pid is not None and pid_alive(entry.pid)
    return ProcessHealth(entry=entry, alive=alive, healthy=alive and _answers(entry))


def _answers(entry: ProcessEntry) -> bool:
    if entry.kind == "postgres":
        try:
            with psycopg.connect(libpq_url(entry.address), connect_timeout=DATABASE_CHECK_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True
    probe: Probe
    if entry.kind == "grpc":
        probe = GrpcHealthProbe(entry.address)
    elif entry.kind == "http":
        probe = HttpReadyProbe(entry.address)
    else:
        host, _, port = entry.address.rpartition(":")
        probe = TcpProbe(host, int(port))
    return probe.check()


def shown_address(entry: ProcessEntry) -> str:
    return redacted(entry.address) if entry.kind == "postgres" else entry.address


def render_report(report: InstanceReport) -> str:
    if not report.running:
        return "payment-engine is not running (no live launcher for this data directory)\n"
    header = f"{'PROCESS':<14}{'PID':<9}{'HEALTH':<11}{'RESTARTS':<10}ADDRESS"
    lines = [f"payment-engine {report.base_url} (launcher pid {report.launcher_pid})", "", header]
    for process in report.processes:
        entry = process.entry
        if not process.alive:
            health = "down"
        elif process.healthy:
            health = "healthy"
        else:
            health = "unhealthy"
        if entry.failing:
            health += " (failing)"
        lines.append(
            f"{entry.name:<14}{entry.pid if entry.pid is not None else '-'!s:<9}{health:<11}"
            f"{entry.restarts:<10}{shown_address(entry)}"
        )
    lines += ["", "healthy" if report.healthy else "NOT healthy"]
    return "\n".join(lines) + "\n"


def report_document(report: InstanceReport) -> dict[str, object]:
    return {
        "running": report.running,
        "healthy": report.healthy,
        "baseUrl": report.base_url,
        "launcherPid": report.launcher_pid,
        "processes": [
            {
                "name": p.entry.name,
                "pid": p.entry.pid,
                "address": shown_address(p.entry),
                "alive": p.alive,
                "healthy": p.healthy,
                "restarts": p.entry.restarts,
                "failing": p.entry.failing,
                "state": p.entry.state,
            }
            for p in report.processes
        ],
    }
