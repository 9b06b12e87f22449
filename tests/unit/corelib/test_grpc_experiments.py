"""The gRPC core experiments the engine's processes run with: set where each process
starts, and still known to the installed gRPC."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Final

from corelib.grpc_experiments import (
    ENGINE_GRPC_EXPERIMENTS,
    GRPC_EXPERIMENTS_VARIABLE,
    with_engine_grpc_experiments,
)

ROOT: Final = Path(__file__).resolve().parents[3]
PROBE_TIMEOUT_S: Final = 60


def test_the_engines_experiments_are_added_unless_the_environment_names_its_own() -> None:
    assert with_engine_grpc_experiments({"PATH": "/bin"}) == {
        "PATH": "/bin",
        GRPC_EXPERIMENTS_VARIABLE: ENGINE_GRPC_EXPERIMENTS,
    }
    assert with_engine_grpc_experiments({GRPC_EXPERIMENTS_VARIABLE: ""}) == {
        GRPC_EXPERIMENTS_VARIABLE: ENGINE_GRPC_EXPERIMENTS
    }
    own = {GRPC_EXPERIMENTS_VARIABLE: "tcp_rcv_lowat"}
    assert with_engine_grpc_experiments(own) == own


def test_the_image_sets_the_same_experiments() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    runtime_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.findall(rf"\b{GRPC_EXPERIMENTS_VARIABLE}=(\S+)", runtime_stage) == [ENGINE_GRPC_EXPERIMENTS]


def test_the_installed_grpc_knows_every_experiment_named() -> None:
    """A gRPC release that dropped one of them would ignore it with a log line; this
    says so before the CPU per call does."""
    probe = "import grpc; grpc.insecure_channel('127.0.0.1:1').close(); print('started')"
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, GRPC_EXPERIMENTS_VARIABLE: ENGINE_GRPC_EXPERIMENTS},
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0 and completed.stdout.strip() == "started", completed.stderr
    assert "Unknown experiment" not in completed.stderr
    # The probe itself would see a misspelt name.
    misspelt = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, GRPC_EXPERIMENTS_VARIABLE: "-event_engine_clientt"},
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    assert "Unknown experiment" in misspelt.stderr
