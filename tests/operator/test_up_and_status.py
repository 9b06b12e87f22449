"""An operator's first hour: `payment-engine up` as typed in a terminal starts quietly —
no warning, no error, no traceback in any line — and `payment-engine status` reads the
running instance from its data directory: every process with its pid, address, health
and restart count, and an exit code that says healthy (0), not healthy (1) or not
running (3)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import psycopg
import pytest

from corelib.db import libpq_url
from launcher.ports import free_port

START_DEADLINE_S: Final = 180.0
STOP_DEADLINE_S: Final = 60.0
POLL_S: Final = 0.5
PROCESSES: Final = ("postgres", "auth", "webhooks", "accounts", "transactions", "gateway", "portal")
NOISY_LEVELS: Final = ("warning", "error", "critical")
# The console script `./payment-engine` runs, installed beside this interpreter.
COMMAND: Final = Path(sys.executable).parent / "payment-engine"


def status(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), "status", "--data-dir", str(data_dir), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "engine"


@pytest.fixture
def up(data_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    output = tmp_path / "up.log"
    with output.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [
                str(COMMAND),
                "up",
                "--port",
                str(free_port()),
                "--data-dir",
                str(data_dir),
                "--log-format",
                "json",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield process, output
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(STOP_DEADLINE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_until_healthy(process: subprocess.Popen[str], data_dir: Path, output: Path) -> dict[str, object]:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        assert process.poll() is None, output.read_text()
        answer = status(data_dir, "--json")
        if answer.returncode == 0:
            document: dict[str, object] = json.loads(answer.stdout)
            return document
        assert time.monotonic() < deadline, f"never healthy: {answer.stdout}\n{output.read_text()}"
        time.sleep(POLL_S)


@pytest.mark.timeout(400)
def test_up_starts_quietly_and_status_tells_each_process_and_its_health(
    up: tuple[subprocess.Popen[str], Path], data_dir: Path
) -> None:
    process, output = up
    document = wait_until_healthy(process, data_dir, output)
    assert document["running"] is True and document["healthy"] is True
    processes = {entry["name"]: entry for entry in document["processes"]}  # type: ignore[attr-defined]
    assert set(processes) == set(PROCESSES)
    for name, entry in processes.items():
        assert isinstance(entry["pid"], int) and entry["alive"] and entry["healthy"], (name, entry)
        assert entry["restarts"] == 0 and entry["address"], (name, entry)
    # The password of the database never appears; the address does.
    assert str(processes["gateway"]["address"]).endswith("/readyz")
    # The engine's processes reach their embedded PostgreSQL over its unix socket.
    with psycopg.connect(libpq_url(str(processes["postgres"]["address"])), autocommit=True) as conn:
        clients = conn.execute(
            "SELECT application_name, client_addr IS NULL FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchall()
    assert clients and all(over_socket for _, over_socket in clients), clients

    table = status(data_dir)
    assert table.returncode == 0
    for name in PROCESSES:
        assert name in table.stdout
    assert table.stdout.rstrip().endswith("healthy")

    # A process that stops answering makes the instance unhealthy (exit 1), by name.
    frozen_pid = processes["webhooks"]["pid"]
    assert isinstance(frozen_pid, int)
    os.kill(frozen_pid, signal.SIGSTOP)
    try:
        unhealthy = status(data_dir, "--json")
    finally:
        os.kill(frozen_pid, signal.SIGCONT)
    assert unhealthy.returncode == 1
    verdicts = {entry["name"]: entry["healthy"] for entry in json.loads(unhealthy.stdout)["processes"]}
    assert verdicts["webhooks"] is False
    # (The gateway's readiness includes its backends', so it may say not ready too.)
    assert all(verdicts[name] for name in ("postgres", "auth", "accounts", "transactions"))

    # A normal start says nothing alarming: every line is an info-level JSON event.
    process.send_signal(signal.SIGINT)
    assert process.wait(STOP_DEADLINE_S) == 0
    lines = [line for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert "Traceback" not in line, line
        event = json.loads(line)
        assert event.get("level", "info") not in NOISY_LEVELS, line

    gone = status(data_dir)
    assert gone.returncode == 3 and "not running" in gone.stdout
