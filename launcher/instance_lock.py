"""One `payment-engine up` per data directory: two would share one PostgreSQL cluster and
fight over it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final, TextIO

from launcher.errors import LaunchError

LOCK_FILE_NAME: Final = "launcher.lock"


class InstanceLock:
    """An advisory lock held for the life of the process; the kernel drops it if we die,
    so a crashed launcher never leaves a stale lock behind."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir.resolve() / LOCK_FILE_NAME
        self._handle: TextIO | None = None

    def acquire(self) -> None:
        handle = self._path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LaunchError(
                f"another payment-engine is already running with data directory {self._path.parent} "
                f"(pid {holder}); stop it first or choose another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
