"""Runs the engine's processes: starts them in dependency order, restarts a crashed one
with bounded backoff, and stops them all, newest stage first.

It never gives up on the engine as a whole: a process that keeps crashing is reported
as failing and retried at a slow, bounded pace while every other process keeps running
(launcher/backoff.py).

Threads rather than asyncio: the supervisor is driven from plain synchronous code (the
`up` command's main thread, pytest fixtures) and its work is waiting on a handful of
child processes, so one watcher thread and one output thread per child are enough.
"""

from __future__ import annotations

import enum
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from launcher.backoff import RestartBudget, RestartLimits
from launcher.child import ManagedProcess, ProcessSpec, describe_exit
from launcher.errors import LaunchError
from launcher.output import LogSink

WATCH_INTERVAL_S: Final = 0.1
READY_TIMEOUT_S: Final = 60.0
# Readiness is asked for quickly at first (most processes are up within a second), then
# less often: every probe is an RPC the service logs.
READY_POLL_INTERVAL_S_INITIAL: Final = 0.05
READY_POLL_INTERVAL_S_MAX: Final = 0.5
READY_POLL_INTERVAL_GROWTH: Final = 1.5
STOP_GRACE_S: Final = 10.0
WATCHER_JOIN_S: Final = STOP_GRACE_S * 2
STARTUP_OUTPUT_LINES: Final = 20


class ChildState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"


class StartupError(LaunchError):
    """A process could not start; everything started so far has been stopped again."""


@dataclass
class _Child:
    process: ManagedProcess
    budget: RestartBudget
    state: ChildState = ChildState.STOPPED
    restart_at_s: float = 0.0
    crash_restarts: int = 0
    spawned_at_s: float = 0.0
    # Crashed more often than its budget allows; cleared once it stays up again.
    failing: bool = False


@dataclass(frozen=True)
class ProcessReport:
    """One process as `payment-engine status` shows it."""

    name: str
    pid: int | None
    state: str
    crash_restarts: int
    failing: bool


class Supervisor:
    def __init__(
        self,
        stages: Sequence[Sequence[ProcessSpec]],
        sink: LogSink,
        *,
        limits: RestartLimits | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        stop_grace_s: float = STOP_GRACE_S,
        on_spawn: Callable[[str, int], None] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """`stages` run in order: every process of a stage must be ready before the next
        stage starts; stopping goes in reverse. `on_spawn(name, pid)` hears of every start
        and restart (the stack records pids, to clean up after a killed launcher);
        `on_change()` of every start, crash and stop (the stack publishes `reports()`)."""
        names = [spec.name for stage in stages for spec in stage]
        if len(names) != len(set(names)):
            raise ValueError(f"process names must be unique: {names}")
        self._sink = sink
        self._ready_timeout_s = ready_timeout_s
        self._stop_grace_s = stop_grace_s
        self._on_spawn = on_spawn
        self._on_change = on_change
        budget_limits = limits or RestartLimits()
        self._stages: list[list[_Child]] = [
            [_Child(ManagedProcess(spec, sink), RestartBudget(budget_limits)) for spec in stage]
            for stage in stages
        ]
        self._children = {child.process.name: child for stage in self._stages for child in stage}
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Returns once every process is ready; raises StartupError (having stopped
        everything) when one cannot start."""
        if self._watcher is not None:
            raise RuntimeError("a supervisor starts once")
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()
        try:
            for stage in self._stages:
                for child in stage:
                    with self._lock:
                        self._spawn(child, ChildState.STARTING)
                for child in stage:
                    self._await_startup(child)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops every process (SIGTERM, then SIGKILL after the grace period). Idempotent."""
        self._closing.set()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(WATCHER_JOIN_S)
        self._stop_children()

    def reports(self) -> list[ProcessReport]:
        with self._lock:
            return [
                ProcessReport(
                    name=name,
                    pid=child.process.pid if child.process.is_running() else None,
                    state=child.state.value,
                    crash_restarts=child.crash_restarts,
                    failing=child.failing,
                )
                for name, child in self._children.items()
            ]

    # -- inspecting and disturbing single processes (operators and crash tests) ----------

    @property
    def names(self) -> list[str]:
        return list(self._children)

    def pid(self, name: str) -> int | None:
        with self._lock:
            process = self._child(name).process
            return process.pid if process.is_running() else None

    def state(self, name: str) -> ChildState:
        with self._lock:
            return self._child(name).state

    def crash_restarts(self, name: str) -> int:
        """How many times `name` was restarted after crashing."""
        with self._lock:
            return self._child(name).crash_restarts

    def recent_output(self, name: str) -> list[str]:
        return self._child(name).process.recent_output()

    def kill(self, name: str, sig: int) -> int:
        """Sends `sig` to the process (and its group) as a crash would; the watcher then
        restarts it as it would any crashed process. Returns the pid signalled."""
        with self._lock:
            child = self._child(name)
            pid = child.process.pid
            if child.state is not ChildState.RUNNING or pid is None or not child.process.is_running():
                raise RuntimeError(f"{name} is not running (state {child.state.value})")
            child.process.send_signal(sig)
            return pid

    def restart(self, name: str) -> int:
        """A deliberate restart (not a crash: it costs no restart budget). Returns once the
        new process is ready, with its pid."""
        with self._lock:
            child = self._child(name)
            if self._closing.is_set() or child.state not in (ChildState.RUNNING, ChildState.BACKOFF):
                raise RuntimeError(f"{name} cannot be restarted now (state {child.state.value})")
            child.state = ChildState.STOPPING
        self._sink.event("info", f"restarting {name} on request")
        child.process.stop(self._stop_grace_s)
        with self._lock:
            if self._closing.is_set():
                child.state = ChildState.STOPPED
                raise RuntimeError(f"{name} was not restarted: the supervisor is stopping")
            self._spawn(child, ChildState.RUNNING)
        return self.wait_ready(name)

    def wait_ready(
        self, name: str, timeout_s: float | None = None, *, replacing_pid: int | None = None
    ) -> int:
        """Waits until `name` runs and answers its readiness probe — as a process other than
        `replacing_pid` when given (after `kill`, until the replacement is up). Returns its pid."""
        timeout_s = self._ready_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        child = self._child(name)
        pause = _ReadinessPause()
        while True:
            with self._lock:
                running = child.state is ChildState.RUNNING and child.process.is_running()
                pid = child.process.pid
            if running and pid is not None and pid != replacing_pid and child.process.spec.probe.check():
                return pid
            if time.monotonic() >= deadline:
                raise LaunchError(
                    f"{name} was not ready within {timeout_s:.0f} s "
                    f"(state {child.state.value}, {child.process.spec.probe.describe()})"
                )
            pause.sleep()

    def wait_all_ready(self, timeout_s: float | None = None) -> None:
        for name in self._children:
            self.wait_ready(name, timeout_s)

    # -- internals ---------------------------------------------------------------------

    def _child(self, name: str) -> _Child:
        try:
            return self._children[name]
        except KeyError:
            raise KeyError(f"no process named {name!r}; known: {', '.join(self._children)}") from None

    def _spawn(self, child: _Child, state: ChildState) -> None:
        child.process.spawn()
        child.state = state
        child.spawned_at_s = time.monotonic()
        pid = child.process.pid
        assert pid is not None
        if self._on_spawn is not None:
            self._on_spawn(child.process.name, pid)
        self._sink.event("info", f"started {child.process.name}", pid=pid)
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _await_startup(self, child: _Child) -> None:
        name = child.process.name
        probe = child.process.spec.probe
        deadline = time.monotonic() + self._ready_timeout_s
        pause = _ReadinessPause()
        while True:
            returncode = child.process.exit_code()
            if returncode is not None:
                raise StartupError(
                    f"{name} exited during start-up ({describe_exit(returncode)})"
                    + _output_block(child.process.collect_output())
                )
            if self._closing.is_set():
                raise StartupError(f"start-up of {name} was interrupted")
            if probe.check():
                with self._lock:
                    child.state = ChildState.RUNNING
                self._sink.event("info", f"{name} is ready", pid=child.process.pid)
                self._changed()
                return
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"{name} did not become ready within {self._ready_timeout_s:.0f} s "
                    f"(waited for {probe.describe()})" + _output_block(child.process.recent_output())
                )
            pause.sleep()

    def _watch(self) -> None:
        while not self._closing.wait(WATCH_INTERVAL_S):
            self._watch_once(time.monotonic())

    def _watch_once(self, now_s: float) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            for child in self._children.values():
                if child.state is ChildState.RUNNING and child.process.exit_code() is not None:
                    self._on_crash(child, now_s)
                elif (
                    child.failing
                    and child.state is ChildState.RUNNING
                    and now_s - child.spawned_at_s > child.budget.limits.window_s
                ):
                    child.failing = False
                    self._sink.event("info", f"{child.process.name} has stayed up; it is no longer failing")
                    self._changed()
                elif child.state is ChildState.BACKOFF and now_s >= child.restart_at_s:
                    self._restart_after_crash(child, now_s)

    def _on_crash(self, child: _Child, now_s: float) -> None:
        returncode = child.process.exit_code()
        assert returncode is not None
        output = [line for line in child.process.collect_output() if line.strip()]
        # A process that exited by itself usually said why on its last line; one that was
        # killed by a signal did not, and the signal is the why.
        explanation = {"last_output": output[-1]} if returncode >= 0 and output else {}
        self._sink.event(
            "error",
            f"{child.process.name} exited unexpectedly ({describe_exit(returncode)})",
            uptime_s=round(now_s - child.spawned_at_s, 1),
            **explanation,
        )
        self._schedule_restart(child, now_s)

    def _schedule_restart(self, child: _Child, now_s: float) -> None:
        """Puts a crashed child in backoff: quick restarts while its budget lasts, slow
        ones after. The other processes are never touched."""
        decision = child.budget.after_crash(now_s)
        limits = child.budget.limits
        child.state = ChildState.BACKOFF
        child.restart_at_s = now_s + decision.delay_s
        if decision.budget_spent:
            if not child.failing:
                self._sink.event(
                    "error",
                    f"{child.process.name} crashed more than {limits.restarts_max} times within "
                    f"{limits.window_s:.0f} s; it is failing (its output is above). The other "
                    f"processes keep running; it is retried every {limits.exhausted_delay_s:g} s",
                )
            child.failing = True
        self._sink.event(
            "warning",
            f"restarting {child.process.name} in {decision.delay_s:.2f} s",
            crashes_in_window=child.budget.recent_crashes,
            crashes_max=limits.restarts_max,
        )
        self._changed()

    def _restart_after_crash(self, child: _Child, now_s: float) -> None:
        try:
            self._spawn(child, ChildState.RUNNING)
        except OSError as error:
            self._sink.event("error", f"cannot start {child.process.name}: {error}")
            self._schedule_restart(child, now_s)
            return
        child.crash_restarts += 1
        self._changed()
        threading.Thread(
            target=self._report_ready_again, args=(child, child.process.pid), daemon=True
        ).start()

    def _report_ready_again(self, child: _Child, pid: int | None) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        pause = _ReadinessPause()
        while time.monotonic() < deadline and not self._closing.is_set():
            if child.process.pid != pid or not child.process.is_running():
                return  # crashed again; the watcher reports that
            if child.process.spec.probe.check():
                self._sink.event("info", f"{child.process.name} is ready again", pid=pid)
                return
            pause.sleep()

    def _stop_children(self) -> None:
        for stage in reversed(self._stages):
            with self._lock:
                stopping = [c for c in stage if c.state is not ChildState.STOPPED]
                for child in stopping:
                    child.state = ChildState.STOPPING
            for child in stopping:
                child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self._stop_grace_s
            for child in stopping:
                if not child.process.wait(max(0.0, deadline - time.monotonic())):
                    self._sink.event(
                        "warning",
                        f"{child.process.name} ignored SIGTERM for {self._stop_grace_s:g} s; killing it",
                    )
                    child.process.stop(0.0)
                with self._lock:
                    child.state = ChildState.STOPPED
                self._sink.event("info", f"stopped {child.process.name}")
                self._changed()


class _ReadinessPause:
    def __init__(self) -> None:
        self._interval_s = READY_POLL_INTERVAL_S_INITIAL

    def sleep(self) -> None:
        time.sleep(self._interval_s)
        self._interval_s = min(self._interval_s * READY_POLL_INTERVAL_GROWTH, READY_POLL_INTERVAL_S_MAX)


def _output_block(lines: list[str]) -> str:
    shown = [line for line in lines if line.strip()][-STARTUP_OUTPUT_LINES:]
    if not shown:
        return "; it printed nothing"
    return "; its last output:\n" + "\n".join(f"    {line}" for line in shown)
