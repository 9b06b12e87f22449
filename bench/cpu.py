"""Where the CPU goes during a run, per process, from /proc (Linux).

On a 2-core machine the load generator, every engine process and PostgreSQL share the
same cores, so the first question about any figure is "who was busy?". This reads each
process's user+system time before and after a run; for PostgreSQL it adds every child of
the postmaster (backends, WAL writer, checkpointer…) and the time of children that
already exited (cutime/cstime), so short-lived backends are not lost.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

PROC: Final = Path("/proc")
POSTGRES: Final = "postgres"
BENCH: Final = "bench"
# Everything else on the machine (other users of a shared host), and the machine's total.
OTHERS: Final = "others"
MACHINE: Final = "machine"
# /proc/stat "cpu" line: user nice system idle iowait irq softirq steal …; busy is all but
# idle and iowait.
_BUSY_FIELDS: Final = (0, 1, 2, 5, 6, 7)
# Fields of /proc/<pid>/stat after the ")" that closes the command name (0-based there):
# ppid is field 4 of the file, utime 14, stime 15, cutime 16, cstime 17.
_PPID_INDEX: Final = 1
_UTIME_INDEX: Final = 11
_CUTIME_INDEX: Final = 13
# Waiting for the engine to go quiet between runs (relays, saga worker, webhooks).
SETTLE_WINDOW_S: Final = 0.5
SETTLE_BUSY_PERCENT_MAX: Final = 25.0
# A run that leaves a backlog (the batch API outruns the webhooks service's intake)
# may take this long to drain; the bench notes a run that starts before it has.
SETTLE_TIMEOUT_S: Final = 120.0


def _clock_ticks_per_s() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100


CLOCK_TICKS_PER_S: Final = _clock_ticks_per_s()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def process_cpu_s(pid: int, *, with_reaped_children: bool = False) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    ticks = int(fields[_UTIME_INDEX]) + int(fields[_UTIME_INDEX + 1])
    if with_reaped_children:
        ticks += int(fields[_CUTIME_INDEX]) + int(fields[_CUTIME_INDEX + 1])
    return ticks / CLOCK_TICKS_PER_S


def machine_busy_s() -> float | None:
    """CPU seconds the whole machine has been busy, all cores together."""
    try:
        first = (PROC / "stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    values = [int(value) for value in first[1:]]
    return sum(values[index] for index in _BUSY_FIELDS if index < len(values)) / CLOCK_TICKS_PER_S


def children_of(parent_pid: int) -> list[int]:
    children = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[_PPID_INDEX]) == parent_pid:
            children.append(int(entry.name))
    return children


class CpuMeter:
    """CPU seconds of the named processes, PostgreSQL's whole tree and this process."""

    def __init__(self, pids: Mapping[str, int], postmaster_pid: int | None) -> None:
        self._pids = dict(pids)
        self._postmaster_pid = postmaster_pid
        self.available = PROC.is_dir() and all((PROC / str(pid)).exists() for pid in self._pids.values())

    def add(self, name: str, pid: int) -> None:
        self._pids[name] = pid

    def remove(self, name: str) -> None:
        self._pids.pop(name, None)

    def snapshot(self) -> dict[str, float]:
        if not self.available:
            return {}
        seconds: dict[str, float] = {}
        for name, pid in self._pids.items():
            value = process_cpu_s(pid)
            if value is not None:
                seconds[name] = value
        if self._postmaster_pid is not None:
            total = process_cpu_s(self._postmaster_pid, with_reaped_children=True)
            if total is not None:
                for child in children_of(self._postmaster_pid):
                    total += process_cpu_s(child) or 0.0
                seconds[POSTGRES] = total
        times = os.times()
        seconds[BENCH] = times.user + times.system
        machine = machine_busy_s()
        if machine is not None:
            seconds[MACHINE] = machine
        return seconds

    async def settle(self) -> tuple[float, bool]:
        """Waits (bounded) until the engine is nearly idle — the saga worker, outbox relays
        and webhook deliveries of the previous run must not load the next one. Returns the
        seconds waited, and whether the engine went quiet within the bound."""
        if not self.available:
            return 0.0, True
        started = time.monotonic()
        for _ in range(int(SETTLE_TIMEOUT_S / SETTLE_WINDOW_S)):
            before = self.snapshot()
            await asyncio.sleep(SETTLE_WINDOW_S)
            busy = percent_of_core(before, self.snapshot(), SETTLE_WINDOW_S)
            engine_busy = sum(value for name, value in busy.items() if name not in (BENCH, OTHERS))
            if engine_busy < SETTLE_BUSY_PERCENT_MAX:
                return time.monotonic() - started, True
        return time.monotonic() - started, False


def percent_of_core(
    before: Mapping[str, float], after: Mapping[str, float], elapsed_s: float
) -> dict[str, float]:
    """CPU use in percent of one core (200 = both cores of a 2-core machine busy)."""
    if elapsed_s <= 0:
        return {}
    shares = {
        name: max(0.0, after[name] - before[name]) / elapsed_s * 100 for name in after if name in before
    }
    machine = shares.pop(MACHINE, None)
    if machine is not None:
        shares[OTHERS] = max(0.0, machine - sum(shares.values()))
    return shares
