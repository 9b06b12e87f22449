"""The supervisor against stand-in processes (tests/harness/dummy_process.py): ordering,
crash restarts with backoff, a failing process that never stops the others, start-up
failures and stopping."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from launcher.backoff import RestartLimits
from launcher.child import ProcessSpec
from launcher.ports import free_port
from launcher.readiness import TcpProbe
from launcher.supervisor import ChildState, StartupError, Supervisor
from tests.harness import dummy_process
from tests.harness.recording_sink import RecordingSink

DUMMY_SCRIPT = Path(dummy_process.__file__)
QUICK_LIMITS = RestartLimits(restarts_max=2, window_s=60.0, delay_s_initial=0.05, delay_s_max=0.1)
FAILURE_WAIT_S = 20.0


def dummy(name: str, *arguments: str) -> ProcessSpec:
    port = free_port()
    return ProcessSpec(
        name=name,
        argv=(sys.executable, str(DUMMY_SCRIPT), "--port", str(port), *arguments),
        env=dict(os.environ),
        probe=TcpProbe("127.0.0.1", port),
    )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    started: list[Supervisor] = []
    yield started
    for supervisor in started:
        supervisor.stop()


def make(supervisors: list[Supervisor], supervisor: Supervisor) -> Supervisor:
    supervisors.append(supervisor)
    return supervisor


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_stages_start_in_order_each_ready_before_the_next(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("first")], [dummy("second"), dummy("third")]], sink))
    supervisor.start()

    messages = sink.messages()
    assert messages.index("first is ready") < messages.index("started second")
    assert messages.index("first is ready") < messages.index("started third")
    assert {name: supervisor.state(name) for name in supervisor.names} == {
        "first": ChildState.RUNNING,
        "second": ChildState.RUNNING,
        "third": ChildState.RUNNING,
    }
    assert any(name == "first" and line.startswith("dummy listening on") for name, line in sink.lines)


def test_stop_ends_every_process_newest_stage_first(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("first")], [dummy("second")]], sink))
    supervisor.start()
    pids = [supervisor.pid("first"), supervisor.pid("second")]

    supervisor.stop()

    assert all(pid is not None and pid_gone(pid) for pid in pids)
    messages = sink.messages()
    assert messages.index("stopped second") < messages.index("stopped first")
    supervisor.stop()  # idempotent


def test_a_killed_process_is_restarted(sink: RecordingSink, supervisors: list[Supervisor]) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("auth")], [dummy("gateway")]], sink))
    supervisor.start()
    gateway_pid = supervisor.pid("gateway")

    old_pid = supervisor.kill("auth", signal.SIGKILL)
    new_pid = supervisor.wait_ready("auth", timeout_s=10, replacing_pid=old_pid)

    assert new_pid != old_pid
    assert supervisor.crash_restarts("auth") == 1
    assert supervisor.pid("gateway") == gateway_pid  # the others keep running
    assert "auth exited unexpectedly (killed by SIGKILL)" in sink.messages()
    assert any(message.startswith("restarting auth in ") for message in sink.messages())


def test_a_deferrable_process_runs_at_its_lower_priority_and_keeps_it_when_restarted(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    deferrable = replace(dummy("webhooks"), nice=5)
    supervisor = make(supervisors, Supervisor([[dummy("accounts")], [deferrable]], sink))
    supervisor.start()
    own = os.getpriority(os.PRIO_PROCESS, 0)

    def niceness(name: str) -> int:
        pid = supervisor.pid(name)
        assert pid is not None
        return os.getpriority(os.PRIO_PROCESS, pid)

    assert niceness("accounts") == own
    assert niceness("webhooks") == own + 5
    old_pid = supervisor.kill("webhooks", signal.SIGKILL)
    supervisor.wait_ready("webhooks", timeout_s=10, replacing_pid=old_pid)
    assert niceness("webhooks") == own + 5


def wait_for_message(sink: RecordingSink, predicate: Callable[[list[str]], bool]) -> list[str]:
    deadline = time.monotonic() + FAILURE_WAIT_S
    while not predicate(messages := sink.messages()):
        assert time.monotonic() < deadline, messages
        time.sleep(0.05)
    return messages


def test_a_process_crashing_in_a_loop_is_reported_failing_while_the_others_keep_running(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    limits = RestartLimits(
        restarts_max=2, window_s=60.0, delay_s_initial=0.05, delay_s_max=0.1, exhausted_delay_s=0.5
    )
    supervisor = make(
        supervisors,
        Supervisor([[dummy("steady")], [dummy("flaky", "--exit-after-s", "0.3")]], sink, limits=limits),
    )
    supervisor.start()
    steady_pid = supervisor.pid("steady")

    # Past its budget it is still restarted, at the slow pace, for as long as it takes.
    wait_for_message(sink, lambda messages: messages.count("restarting flaky in 0.50 s") >= 2)

    messages = sink.messages()
    failing = [m for m in messages if m.startswith("flaky crashed more than 2 times within 60 s")]
    assert len(failing) == 1, failing  # reported once, not at every retry
    assert "it is failing" in failing[0] and "other processes keep running" in failing[0]
    assert supervisor.crash_restarts("flaky") >= 3
    assert supervisor.pid("steady") == steady_pid and supervisor.state("steady") is ChildState.RUNNING
    reports = {report.name: report for report in supervisor.reports()}
    assert reports["flaky"].failing and not reports["steady"].failing
    assert reports["steady"].pid == steady_pid and reports["steady"].crash_restarts == 0


def test_restart_delays_grow(sink: RecordingSink, supervisors: list[Supervisor]) -> None:
    limits = RestartLimits(
        restarts_max=3, window_s=60.0, delay_s_initial=0.1, delay_s_max=10.0, exhausted_delay_s=5.0
    )
    supervisor = make(
        supervisors, Supervisor([[dummy("flaky", "--exit-after-s", "0.2")]], sink, limits=limits)
    )
    supervisor.start()
    messages = wait_for_message(sink, lambda messages: "restarting flaky in 5.00 s" in messages)

    delays = [m for m in messages if m.startswith("restarting flaky in ")]
    assert delays == [
        "restarting flaky in 0.10 s",
        "restarting flaky in 0.20 s",
        "restarting flaky in 0.40 s",
        "restarting flaky in 5.00 s",
    ]


def test_a_process_that_exits_during_start_up_fails_the_start_with_its_output(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(
        supervisors,
        Supervisor([[dummy("auth")], [dummy("broken", "--no-listen", "--exit-after-s", "0")]], sink),
    )

    with pytest.raises(StartupError) as raised:
        supervisor.start()

    message = str(raised.value)
    assert message.startswith("broken exited during start-up (exit code 3); its last output:")
    assert "dummy failing with exit code 3" in message
    assert supervisor.state("auth") is ChildState.STOPPED


def test_a_process_that_never_gets_ready_fails_the_start(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("mute", "--no-listen")]], sink, ready_timeout_s=1.0))

    with pytest.raises(
        StartupError, match=r"mute did not become ready within 1 s \(waited for TCP 127\.0\.0\.1:"
    ):
        supervisor.start()


def test_a_deliberate_restart_costs_no_restart_budget(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("auth")]], sink, limits=QUICK_LIMITS))
    supervisor.start()
    old_pid = supervisor.pid("auth")

    new_pid = supervisor.restart("auth")
    time.sleep(0.3)  # a watcher that took the restart for a crash would have acted by now

    assert new_pid != old_pid
    assert supervisor.pid("auth") == new_pid
    assert supervisor.crash_restarts("auth") == 0
    assert not any("unexpectedly" in message for message in sink.messages())


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(
    sink: RecordingSink, supervisors: list[Supervisor]
) -> None:
    supervisor = make(
        supervisors, Supervisor([[dummy("stubborn", "--ignore-sigterm")]], sink, stop_grace_s=0.5)
    )
    supervisor.start()
    pid = supervisor.pid("stubborn")

    started = time.monotonic()
    supervisor.stop()

    assert time.monotonic() - started < 5
    assert pid is not None and pid_gone(pid)
    assert "stubborn ignored SIGTERM for 0.5 s; killing it" in sink.messages()


def test_unknown_names_are_refused(sink: RecordingSink, supervisors: list[Supervisor]) -> None:
    supervisor = make(supervisors, Supervisor([[dummy("auth")]], sink))
    with pytest.raises(KeyError, match="no process named 'ledger'"):
        supervisor.pid("ledger")
    with pytest.raises(ValueError, match="unique"):
        Supervisor([[dummy("auth")], [dummy("auth")]], sink)
