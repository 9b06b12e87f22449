"""`--profile`: where the time goes during one measured run.

Three views, each answering a different question:
* py-spy attached to the engine's processes (gateway, transactions, accounts, auth) for
  the measured phase: which Python functions burn the CPU. Sampling from outside, with
  --nonblocking, so the processes are neither restarted nor paused; nothing in the
  launcher has to change. py-spy needs ptrace (root, or CAP_SYS_PTRACE in a container).
* pg_stat_activity sampled every few ms: what PostgreSQL backends wait on (row locks
  on hot accounts, WAL flushes for commits, or the application between statements).
* Without py-spy, cProfile of the load generator itself — the only Python this process
  can profile in-process; it says whether the client was the bottleneck.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench import database

SAMPLES_PER_S: Final = 200
PY_SPY_GRACE_S: Final = 30.0
TOP_FUNCTIONS: Final = 12
TOP_PACKAGES: Final = 8
TOP_WAIT_EVENTS: Final = 10
WAIT_SAMPLE_INTERVAL_S: Final = 0.01
WAIT_SAMPLES_MAX: Final = 100_000
STACK_LINES_MAX: Final = 1_000_000
# "function (path/to/file.py:123)" → "function (file.py)": lines of one function merge.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")
_SITE_PACKAGES = re.compile(r"^.*/(?:site|dist)-packages/")
_STANDARD_LIBRARY = re.compile(r"^.*/lib/python3\.\d+/")
_CHECKOUT = re.compile("^" + re.escape(str(Path(__file__).resolve().parent.parent)) + "/")


def py_spy_path() -> str | None:
    beside_python = Path(sys.executable).with_name("py-spy")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("py-spy")


def short_frame(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match.group("path")
    # py-spy usually prints paths relative to sys.path; absolute ones lose their install
    # prefix here (site-packages, the standard library, the checkout).
    for marker in (_SITE_PACKAGES, _STANDARD_LIBRARY, _CHECKOUT):
        found = marker.search(path)
        if found is not None:
            path = path[found.end() :]
            break
    return f"{match.group('function')} ({path})"


def package_of(frame: str) -> str:
    """The package a shortened frame's code belongs to: `sqlalchemy`, `psycopg`,
    `services/accounts`, `asyncio`…, so that a profile also says which layer the time
    goes to, not only which of hundreds of functions."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    parts = match.group("path").split("/")
    if parts[0] in ("services", "gateway") and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py") if len(parts) == 1 else parts[0]


@dataclass
class StackProfile:
    """Aggregated py-spy samples of one process."""

    samples: int = 0
    # Samples whose innermost frame is the function (time spent in it, not below).
    self_samples: Counter[str] = field(default_factory=Counter)
    # Samples with the function anywhere on the stack (time in it and below).
    total_samples: Counter[str] = field(default_factory=Counter)
    # Self samples by package (see package_of).
    package_samples: Counter[str] = field(default_factory=Counter)
    error: str = ""


def parse_collapsed(text: str) -> StackProfile:
    """py-spy's raw (collapsed) output: `frame;frame;…;frame count` per line."""
    profile = StackProfile()
    for line in text.splitlines()[:STACK_LINES_MAX]:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short_frame(frame) for frame in stack.split(";")]
        profile.samples += count
        profile.self_samples[frames[-1]] += count
        profile.package_samples[package_of(frames[-1])] += count
        for frame in set(frames):
            profile.total_samples[frame] += count
    return profile


async def record_processes(pids: Mapping[str, int], seconds: float) -> dict[str, StackProfile]:
    """Samples every process at once for `seconds`."""
    py_spy = py_spy_path()
    if py_spy is None:
        return {}
    with tempfile.TemporaryDirectory(prefix="pe-pyspy-") as scratch:

        async def record(name: str, pid: int) -> tuple[str, StackProfile]:
            output = Path(scratch) / f"{name}.txt"
            process = await asyncio.create_subprocess_exec(
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLES_PER_S),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(output),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                async with asyncio.timeout(seconds + PY_SPY_GRACE_S):
                    log, _ = await process.communicate()
            except TimeoutError:
                process.kill()
                await process.wait()
                return name, StackProfile(error="py-spy did not finish")
            if process.returncode != 0 or not output.exists():
                message = " ".join(log.decode(errors="replace").split())[-300:]
                return name, StackProfile(error=f"py-spy failed: {message}")
            return name, parse_collapsed(output.read_text(errors="replace"))

        results = await asyncio.gather(*(record(name, pid) for name, pid in pids.items()))
    return dict(results)


async def sample_wait_events(url: str, database_name: str, seconds: float) -> Counter[str]:
    """How often each wait event (or CPU) was seen on an active backend of the engine."""
    seen: Counter[str] = Counter()
    async with await database.connect(url) as conn:
        deadline = time.monotonic() + seconds
        for _ in range(WAIT_SAMPLES_MAX):
            if time.monotonic() >= deadline:
                break
            seen.update(await database.wait_events(conn, database_name))
            await asyncio.sleep(WAIT_SAMPLE_INTERVAL_S)
    return seen


def format_stack_profiles(profiles: Mapping[str, StackProfile]) -> list[str]:
    lines = []
    for name, profile in profiles.items():
        if profile.error:
            lines.append(f"  {name}: {profile.error}")
            continue
        if profile.samples == 0:
            lines.append(f"  {name}: no samples (idle)")
            continue
        lines.append(f"  {name} — {profile.samples} samples of running Python")
        packages = ", ".join(
            f"{package} {count / profile.samples * 100:.0f}%"
            for package, count in profile.package_samples.most_common(TOP_PACKAGES)
        )
        lines.append(f"    self time by package: {packages}")
        lines.append("    self%  total%  function")
        for frame, count in profile.self_samples.most_common(TOP_FUNCTIONS):
            share = count / profile.samples * 100
            total = profile.total_samples[frame] / profile.samples * 100
            lines.append(f"    {share:5.1f}  {total:6.1f}  {frame}")
    return lines


def format_wait_events(seen: Counter[str]) -> list[str]:
    total = sum(seen.values())
    if total == 0:
        return ["  no active backends seen"]
    lines = ["  share  backend state (CPU = running; otherwise the wait event)"]
    for event, count in seen.most_common(TOP_WAIT_EVENTS):
        lines.append(f"  {count / total * 100:5.1f}  {event}")
    return lines


class ClientProfiler:
    """cProfile of this process (the load generator), the fallback without py-spy."""

    def __init__(self) -> None:
        self._profile = cProfile.Profile()

    def __enter__(self) -> ClientProfiler:
        self._profile.enable()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._profile.disable()

    def top(self) -> list[str]:
        stream = io.StringIO()
        stats = pstats.Stats(self._profile, stream=stream)
        stats.sort_stats(pstats.SortKey.TIME).print_stats(TOP_FUNCTIONS)
        return ["  " + line for line in stream.getvalue().splitlines() if line.strip()]
