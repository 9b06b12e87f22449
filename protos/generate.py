"""Regenerates the Python stubs package from protos/ — the one command for it.

    python protos/generate.py          # rewrite gen/python/payment_engine_protos
    python protos/generate.py --check  # exit 1 when the committed stubs are stale

protoc names Python modules after proto paths, so `payment_engine/auth/v1/auth.proto`
would become the module `payment_engine.auth.v1.auth_pb2` — the import name the SDK owns.
The stubs are therefore generated into a scratch tree and moved under
`payment_engine_protos`, with their imports of one another rewritten to match.
The compiled descriptor set (with imports and source info) ships in the same package:
the REST gateway and the Envoy config are built from it.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_PACKAGE = ROOT / "gen" / "python" / "payment_engine_protos"
DESCRIPTOR_SET_NAME = "descriptor_set.binpb"
GRPC_TOOLS_INCLUDE = Path(str(grpc_tools.__file__)).parent / "_proto"
_IMPORT_RE = re.compile(r"^(from|import) payment_engine(\.| )", re.MULTILINE)

PACKAGE_INIT = '''"""Generated gRPC stubs and descriptor set of the Payment Engine contracts.

Produced by `python protos/generate.py`; never edit by hand.
"""

from importlib import resources


def descriptor_set_bytes() -> bytes:
    """The compiled FileDescriptorSet of every contract, imports included."""
    return (resources.files(__name__) / "descriptor_set.binpb").read_bytes()
'''


def _googleapis_include() -> Path:
    return Path(annotations_pb2.__file__).parent.parent.parent


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("payment_engine/**/*.proto"))


def generate_into(target: Path) -> None:
    scratch = target.parent / "scratch"
    scratch.mkdir(parents=True)
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{_googleapis_include()}",
        f"-I{GRPC_TOOLS_INCLUDE}",
        f"--python_out={scratch}",
        f"--grpc_python_out={scratch}",
        f"--mypy_out={scratch}",
        f"--mypy_grpc_out={scratch}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={scratch / DESCRIPTOR_SET_NAME}",
        *files,
    ]
    plugin_dir = Path(sys.executable).parent
    env_path = f"{plugin_dir}"
    result = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        env={"PATH": env_path},
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"protoc failed:\n{result.stderr}")
    shutil.move(str(scratch / "payment_engine"), str(target))
    shutil.move(str(scratch / DESCRIPTOR_SET_NAME), str(target / DESCRIPTOR_SET_NAME))
    for module in target.rglob("*.py*"):
        text = module.read_text()
        module.write_text(_IMPORT_RE.sub(r"\1 payment_engine_protos\2", text))
    for package_dir in [target, *[p for p in target.rglob("*") if p.is_dir()]]:
        (package_dir / "__init__.py").touch()
    (target / "__init__.py").write_text(PACKAGE_INIT)
    (target / "py.typed").touch()


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / d, right / d) for d in comparison.common_dirs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail when the committed stubs are stale")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "payment_engine_protos"
        generate_into(fresh)
        if options.check:
            if OUT_PACKAGE.exists() and _same_tree(fresh, OUT_PACKAGE):
                print("generated stubs are up to date")
                return 0
            print("generated stubs are stale: run `python protos/generate.py`", file=sys.stderr)
            return 1
        if OUT_PACKAGE.exists():
            shutil.rmtree(OUT_PACKAGE)
        shutil.copytree(fresh, OUT_PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"wrote {OUT_PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
