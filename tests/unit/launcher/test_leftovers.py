from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.errors import LaunchError
from launcher.instance_lock import InstanceLock
from launcher.leftovers import PROCESSES_FILE_NAME, ProcessRegistry, stop_leftovers
from tests.harness.recording_sink import RecordingSink

SLEEPER = "import time; time.sleep(60)"


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def spawn(processes: list[subprocess.Popen[bytes]], *argv: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", SLEEPER, *argv], process_group=0)
    processes.append(process)
    return process


def test_children_of_a_killed_launcher_are_stopped_by_the_next(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    orphan = spawn(spawned, "services.auth.server")  # looks like `python -m services.auth.server`
    ProcessRegistry(tmp_path).record("auth", orphan.pid)
    sink = RecordingSink()

    stop_leftovers(tmp_path, sink)

    assert orphan.wait(timeout=5) is not None
    assert sink.messages() == [f"stopping auth (pid {orphan.pid}) left running by a previous launcher"]
    assert not (tmp_path / PROCESSES_FILE_NAME).exists()


def test_a_recorded_pid_now_running_something_else_is_left_alone(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    stranger = spawn(spawned, "something.else")
    ProcessRegistry(tmp_path).record("gateway", stranger.pid)

    stop_leftovers(tmp_path, RecordingSink())

    assert stranger.poll() is None


def test_a_clean_stop_leaves_no_record(tmp_path: Path) -> None:
    registry = ProcessRegistry(tmp_path)
    registry.record("auth", os.getpid())
    registry.clear()
    assert not (tmp_path / PROCESSES_FILE_NAME).exists()


def test_one_launcher_per_data_directory(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(
            LaunchError, match=rf"already running with data directory .* \(pid {os.getpid()}\)"
        ):
            InstanceLock(tmp_path).acquire()
    finally:
        first.release()
    second = InstanceLock(tmp_path)
    second.acquire()
    second.release()
