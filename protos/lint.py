"""Runs `buf lint` (from the buf-bin wheel) on protos/ with the committed buf.yaml.

buf resolves imports from its workspace, and there is no registry to pull googleapis
from, so the google/api and google/rpc files that the contracts import are copied from
the installed googleapis-common-protos wheel into a scratch workspace beside a copy of
protos/. Only our own files are linted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from google.api import annotations_pb2

ROOT = Path(__file__).resolve().parent
GOOGLEAPIS = Path(str(annotations_pb2.__file__)).parent.parent
BUF = Path(sys.executable).parent / "buf"

WORKSPACE_CONFIG = """version: v2
modules:
  - path: protos
    lint:
{lint}
  - path: third_party
"""


def main() -> int:
    own_config = (ROOT / "buf.yaml").read_text()
    lint_section = own_config.split("lint:\n", 1)[1].split("\nbreaking:", 1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        shutil.copytree(ROOT / "payment_engine", workspace / "protos" / "payment_engine")
        for package in ("api", "rpc"):
            shutil.copytree(
                GOOGLEAPIS / package,
                workspace / "third_party" / "google" / package,
                ignore=lambda _d, names: [n for n in names if not n.endswith(".proto") and "." in n],
            )
        indented = "\n".join(f"    {line}" if line else line for line in lint_section.splitlines())
        (workspace / "buf.yaml").write_text(WORKSPACE_CONFIG.format(lint=indented))
        result = subprocess.run(  # noqa: S603 — fixed executable and arguments
            [str(BUF), "lint", "protos"], cwd=workspace, check=False, capture_output=True, text=True
        )
    sys.stdout.write(result.stdout.replace(str(workspace) + "/", ""))
    sys.stderr.write(result.stderr)
    if result.returncode == 0:
        print("buf lint: clean")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
