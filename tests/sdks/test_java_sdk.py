"""The Java SDK (sdks/java), built and tested by the project's test command.

`.ci/ensure-java-sdk` installs Debian's Jackson and JUnit 5 when missing and prints the
tools and class paths; the SDK and its tests are compiled with javac into a temporary
folder (there is no Maven Central here) and run with the JUnit console launcher:

* the unit tests (loopback fault server, shared webhook vectors, OpenAPI contract check);
* the live tests against this suite's real engine (`engine_stack`): the guide's Java code
  taken from the guide at run time, the guide's test scenarios, and the batch API.

The JUnit report is shown when a run fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from tests.harness.engine import EngineHandle

ROOT: Final = Path(__file__).resolve().parents[2]
SDK: Final = ROOT / "sdks" / "java"
GUIDE_NAME: Final = "payment-engine-integration-guide.md"
GUIDE_PARENTS_MAX: Final = 8
ENSURE_TIMEOUT_S: Final = 600
COMPILE_TIMEOUT_S: Final = 240
JUNIT_TIMEOUT_S: Final = 240
REPORT_SHOWN_MAX: Final = 30_000
JUNIT_PACKAGE: Final = "com.paymentengine"


@dataclass(frozen=True)
class JavaBuild:
    java: str
    launcher_jar: str
    class_path: str


def ensure_java_sdk_tools() -> dict[str, str]:
    result = subprocess.run(
        [str(ROOT / ".ci" / "ensure-java-sdk")],
        capture_output=True,
        text=True,
        timeout=ENSURE_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f".ci/ensure-java-sdk failed:\n{result.stderr[-REPORT_SHOWN_MAX:]}")
    tools = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    for name in ("JAVAC", "JAVA", "MAIN_CP", "TEST_CP"):
        assert tools.get(name), f".ci/ensure-java-sdk printed no {name}"
    return tools


def compile_sources(javac: str, sources: Path, out: Path, class_path: str, *, warnings_fail: bool) -> None:
    files = sorted(str(path) for path in sources.rglob("*.java"))
    assert files, f"no Java sources under {sources}"
    out.mkdir(parents=True, exist_ok=True)
    command = [javac, "-encoding", "UTF-8", "--release", "17", "-Xlint:all", "-d", str(out)]
    command += ["-cp", class_path]
    if warnings_fail:
        command.append("-Werror")
    result = subprocess.run(
        [*command, *files], capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"javac {sources} failed:\n{(result.stdout + result.stderr)[-REPORT_SHOWN_MAX:]}")


@pytest.fixture(scope="module")
def java_build(tmp_path_factory: pytest.TempPathFactory) -> JavaBuild:
    tools = ensure_java_sdk_tools()
    out = tmp_path_factory.mktemp("java-sdk")
    main_out, test_out = out / "main", out / "test"
    # The SDK itself compiles without a single warning; its tests need not.
    sources = SDK / "src"
    compile_sources(tools["JAVAC"], sources / "main" / "java", main_out, tools["MAIN_CP"], warnings_fail=True)
    test_cp = f"{main_out}:{tools['TEST_CP']}"
    compile_sources(tools["JAVAC"], sources / "test" / "java", test_out, test_cp, warnings_fail=False)
    launcher = next(entry for entry in tools["TEST_CP"].split(":") if "junit-platform-console" in entry)
    return JavaBuild(
        java=tools["JAVA"],
        launcher_jar=launcher,
        class_path=f"{main_out}:{test_out}:{tools['MAIN_CP']}",
    )


def run_junit(build: JavaBuild, selection: list[str], env: Mapping[str, str] | None = None) -> None:
    command = [
        build.java,
        f"-Dpe.repoRoot={ROOT}",
        "-jar",
        build.launcher_jar,
        "--disable-banner",
        "--disable-ansi-colors",
        "--details=tree",
        "--class-path",
        build.class_path,
        *selection,
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=JUNIT_TIMEOUT_S,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=SDK,
    )
    report = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"JUnit failed (exit {result.returncode}):\n{report[-REPORT_SHOWN_MAX:]}", pytrace=False)
    assert "tests successful" in report, report[-REPORT_SHOWN_MAX:]


def find_guide() -> Path:
    """PE_GUIDE, else the nearest `shared/seed/` above the repository that holds the guide."""
    configured = os.environ.get("PE_GUIDE")
    if configured:
        return Path(configured)
    directory = ROOT
    for _ in range(GUIDE_PARENTS_MAX):
        candidate = directory / "shared" / "seed" / GUIDE_NAME
        if candidate.is_file():
            return candidate
        if directory.parent == directory:
            break
        directory = directory.parent
    pytest.fail(f"the integration guide ({GUIDE_NAME}) is in no shared/seed/ above {ROOT}; set PE_GUIDE")


def live_env(engine: EngineHandle) -> dict[str, str]:
    credentials = engine.credentials
    return {
        "PE_BASE_URL": engine.base_url,
        "PE_API_KEY": credentials.api_key,
        "PE_USERNAME": credentials.username,
        "PE_PASSWORD": credentials.password,
        # The guide's code reads its key from here.
        "PAYMENT_ENGINE_API_KEY": credentials.api_key,
        "PE_GUIDE": str(find_guide()),
    }


def test_java_sdk_unit_tests(java_build: JavaBuild) -> None:
    """Retries, deadline, idempotency, errors, paging, sessions against a loopback fault
    server; the shared webhook vectors; the models against the OpenAPI contract."""
    run_junit(java_build, ["--select-package", JUNIT_PACKAGE, "--exclude-tag", "live"])


def test_java_sdk_guide_code_and_scenarios_live(java_build: JavaBuild, engine_stack: EngineHandle) -> None:
    """The guide's Java code compiled from the guide, and its test scenarios, on the engine."""
    run_junit(
        java_build,
        [
            "--select-class",
            f"{JUNIT_PACKAGE}.GuideCodeLiveTest",
            "--select-class",
            f"{JUNIT_PACKAGE}.GuideScenariosLiveTest",
        ],
        live_env(engine_stack),
    )


def test_java_sdk_batch_live(java_build: JavaBuild, engine_stack: EngineHandle) -> None:
    """POST /api/v1/transactions:batch through the SDK, on the engine."""
    run_junit(java_build, ["--select-class", f"{JUNIT_PACKAGE}.BatchLiveTest"], live_env(engine_stack))
