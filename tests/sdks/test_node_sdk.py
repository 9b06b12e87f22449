"""The Node SDK (`sdks/node`, `@payment-engine/sdk`) under the project's test command.

`.ci/ensure-node-sdk` installs its dev dependencies from the committed lockfile (`npm ci`)
and builds it; then Node's own test runner runs, and its exit code decides:

* the unit tests (`test/unit/`): a loopback fault server, the OpenAPI contract check, the
  shared webhook vectors;
* the package check: publint and are-the-types-wrong on the packed package;
* the live tests against this suite's engine: every resource, and the integration guide's
  JavaScript examples read from the guide itself (`test/live/guide.test.mjs`);
* the batch payment API, on its own, so that its state is visible by name.

Each run's output (Node's spec reporter) is printed, so it shows with the test's result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pytest

from tests.harness.engine import EngineHandle

ROOT: Final = Path(__file__).resolve().parents[2]
ENSURE_NODE_SDK: Final = ROOT / ".ci" / "ensure-node-sdk"
GUIDE_RELATIVE: Final = Path("shared") / "seed" / "payment-engine-integration-guide.md"
# Bounds on each step; the whole Node part takes well under a minute on 2 cores.
INSTALL_TIMEOUT_S: Final = 600
NODE_RUN_TIMEOUT_S: Final = 300
# Above the slowest single test (a webhook round trip), well below the run's bound.
NODE_TEST_TIMEOUT_MS: Final = 90_000
PARENTS_SEARCHED_MAX: Final = 6


def _guide_path() -> Path:
    """The integration guide beside the repository: the nearest `shared/seed/` above it."""
    for folder in [ROOT, *ROOT.parents][:PARENTS_SEARCHED_MAX]:
        candidate = folder / GUIDE_RELATIVE
        if candidate.is_file():
            return candidate
    pytest.fail(f"the integration guide ({GUIDE_RELATIVE}) is not in any folder above {ROOT}")


@pytest.fixture(scope="module")
def node_sdk() -> Path:
    if shutil.which("node") is None:
        pytest.fail("Node.js 20+ is required for the Node SDK tests")
    done = subprocess.run(
        [str(ENSURE_NODE_SDK)], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        pytest.fail(f".ci/ensure-node-sdk failed:\n{done.stdout}\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def _run(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Runs a Node command, prints its output, and fails the test when it fails."""
    done = subprocess.run(
        list(command),
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=NODE_RUN_TIMEOUT_S,
        check=False,
    )
    output = f"$ {' '.join(command)}\n{done.stdout}{done.stderr}"
    print(output)
    assert done.returncode == 0, output


def _node_test(files: Sequence[str]) -> list[str]:
    return [
        "node",
        "--test",
        "--test-reporter=spec",
        "--test-concurrency=1",
        f"--test-timeout={NODE_TEST_TIMEOUT_MS}",
        *files,
    ]


def _engine_env(engine: EngineHandle) -> dict[str, str]:
    credentials = engine.credentials
    return {
        "PE_TEST_BASE_URL": engine.base_url,
        "PE_TEST_API_KEY": credentials.api_key,
        "PE_TEST_USERNAME": credentials.username,
        "PE_TEST_PASSWORD": credentials.password,
        "PE_TEST_TENANT_ID": credentials.tenant_id,
        "PE_GUIDE_PATH": str(_guide_path()),
    }


def test_node_sdk_unit(node_sdk: Path) -> None:
    _run(_node_test(["test/unit/"]), node_sdk)


def test_node_sdk_package_is_well_formed(node_sdk: Path) -> None:
    # publint: package.json's exports/files; attw: the types resolve for require and import alike.
    _run([str(node_sdk / "node_modules" / ".bin" / "publint"), "--strict"], node_sdk)
    _run([str(node_sdk / "node_modules" / ".bin" / "attw"), "--pack", "."], node_sdk)


def test_node_sdk_against_the_engine_and_the_guide(node_sdk: Path, engine_stack: EngineHandle) -> None:
    files = ["test/live/sdk.test.mjs", "test/live/guide.test.mjs"]
    _run(_node_test(files), node_sdk, _engine_env(engine_stack))


def test_node_sdk_batch_payments_against_the_engine(node_sdk: Path, engine_stack: EngineHandle) -> None:
    _run(_node_test(["test/live/batch.test.mjs"]), node_sdk, _engine_env(engine_stack))
