"""Processes a previous launcher left behind when it was killed outright (SIGKILL, OOM):
the children live in their own process groups, so they outlive it, and would hold the
ports the next `up` needs. Their pids are recorded in the data directory as they start;
the next `up` stops any that still run before it starts its own."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Final

from launcher.output import LogSink
from launcher.pids import pid_alive, process_arguments
from launcher.private_files import read_json_object, write_private_json
from launcher.topology import GATEWAY_NAME

PROCESSES_FILE_NAME: Final = "processes.json"
LEFTOVER_STOP_GRACE_S: Final = 10.0
LEFTOVER_POLL_INTERVAL_S: Final = 0.1


def entry_module(name: str) -> str:
    return "gateway.server" if name == GATEWAY_NAME else f"services.{name}.server"


class ProcessRegistry:
    """name → pid of the engine's current children, kept on disk."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / PROCESSES_FILE_NAME
        self._pids: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, name: str, pid: int) -> None:
        with self._lock:
            self._pids[name] = pid
            write_private_json(self._path, self._pids)

    def clear(self) -> None:
        with self._lock:
            self._pids.clear()
            self._path.unlink(missing_ok=True)


def stop_leftovers(data_dir: Path, sink: LogSink) -> None:
    path = data_dir / PROCESSES_FILE_NAME
    recorded = read_json_object(path) or {}
    for name, pid in recorded.items():
        if isinstance(pid, int) and _runs_module(pid, entry_module(name)):
            sink.event("warning", f"stopping {name} (pid {pid}) left running by a previous launcher")
            _stop_group(pid)
    path.unlink(missing_ok=True)


def _runs_module(pid: int, module: str) -> bool:
    """Only a process that still runs our entry point is ours: a recorded pid may have been
    reused by anything since. Without /proc (macOS) we cannot tell, so we leave it alone."""
    arguments = process_arguments(pid)
    return arguments is not None and module in arguments


def _stop_group(pid: int) -> None:
    # Each child leads its own process group (pgid == pid).
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + LEFTOVER_STOP_GRACE_S
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(LEFTOVER_POLL_INTERVAL_S)
