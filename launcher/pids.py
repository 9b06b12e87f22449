"""Questions about processes we know only by pid (not our children, or not any more)."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, and someone else's
    return not _is_zombie(pid)


def process_arguments(pid: int) -> list[str] | None:
    """The command line of `pid`, or None where it cannot be read (gone, or no /proc as on
    macOS)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [argument.decode(errors="replace") for argument in raw.split(b"\0") if argument]


def _is_zombie(pid: int) -> bool:
    """An exited child its parent has not reaped yet still answers kill(pid, 0)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # Format: "pid (comm) state …"; comm may contain spaces and parentheses.
    return stat_line.rpartition(")")[2].split()[:1] == ["Z"]
