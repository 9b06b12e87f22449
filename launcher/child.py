"""One child process: spawn it, stream its output, signal it, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from launcher.output import LogSink
from launcher.readiness import Probe

OUTPUT_TAIL_LINES: Final = 50
OUTPUT_PUMP_JOIN_S: Final = 2.0
KILL_WAIT_S: Final = 5.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    probe: Probe
    # Added to the process's niceness when it starts: a process whose work can wait
    # yields the cores to the others whenever they want them at the same time.
    nice: int = 0


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class ManagedProcess:
    def __init__(self, spec: ProcessSpec, sink: LogSink) -> None:
        self.spec = spec
        self._sink = sink
        self._popen: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None
        self._tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
        self._tail_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    def spawn(self) -> None:
        with self._tail_lock:
            self._tail.clear()
        self._popen = subprocess.Popen(
            list(self.spec.argv),
            env=dict(self.spec.env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            # Its own process group: a Ctrl-C in the terminal reaches only the launcher,
            # which then stops the children in order, instead of all of them at once.
            process_group=0,
        )
        if self.spec.nice:
            # Lowering a child's priority needs no privilege; the few milliseconds it
            # runs before this are of no consequence.
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(
                    os.PRIO_PROCESS, self._popen.pid, os.getpriority(os.PRIO_PROCESS, 0) + self.spec.nice
                )
        self._pump = threading.Thread(
            target=self._pump_output, args=(self._popen,), name=f"output-{self.name}", daemon=True
        )
        self._pump.start()

    def exit_code(self) -> int | None:
        """None while running; also None before the first spawn."""
        return None if self._popen is None else self._popen.poll()

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def send_signal(self, sig: int) -> None:
        if self._popen is None or self._popen.poll() is not None:
            return
        # The whole group, so anything the child started goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def wait(self, timeout_s: float) -> bool:
        """True once the process has exited (reaped), False if it still runs after `timeout_s`."""
        if self._popen is None:
            return True
        try:
            self._popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        self._finish_pump()
        return True

    def stop(self, grace_s: float) -> None:
        """SIGTERM, then SIGKILL for a process that is still there after `grace_s`."""
        self.send_signal(signal.SIGTERM)
        if not self.wait(grace_s):
            self.send_signal(signal.SIGKILL)
            self.wait(KILL_WAIT_S)

    def recent_output(self) -> list[str]:
        with self._tail_lock:
            return list(self._tail)

    def collect_output(self) -> list[str]:
        """The last lines of a process that has exited, once its output is fully read."""
        self._finish_pump()
        return self.recent_output()

    def _pump_output(self, popen: subprocess.Popen[str]) -> None:
        assert popen.stdout is not None
        for raw_line in popen.stdout:
            line = raw_line.rstrip("\n")
            with self._tail_lock:
                self._tail.append(line)
            self._sink.child_line(self.name, line)
        popen.stdout.close()

    def _finish_pump(self) -> None:
        # A grandchild that outlived the child may keep the pipe open; do not wait forever.
        if self._pump is not None:
            self._pump.join(OUTPUT_PUMP_JOIN_S)
