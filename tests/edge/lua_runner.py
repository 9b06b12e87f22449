"""Runs the Lua filters of the generated Envoy config under LuaJIT (Debian's `luajit`).

The code run is the code Envoy would run: it is read out of gateway/envoy/envoy.yaml,
not from the hand-written sources, so the generated prelude (corelib.errors' table) is
part of what is tested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest

from tests.edge.envoy_support import load_yaml, lua_source

HARNESS: Final = Path(__file__).with_name("lua") / "harness.lua"
LUAJIT_TIMEOUT_S: Final = 60


def luajit() -> str:
    found = shutil.which("luajit")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("luajit is not installed: CI must `apt-get install luajit`")
        pytest.skip("luajit is not installed (apt-get install luajit)")
    return found


def to_lua(value: Any) -> str:
    """A Python value as a Lua literal: lists become sequences, dicts tables."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # Decimal escapes keep any byte (UTF-8 included) exact in Lua 5.1.
        return '"' + "".join(f"\\{byte}" for byte in value.encode()) + '"'
    if isinstance(value, list | tuple):
        return "{" + ", ".join(to_lua(item) for item in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{to_lua(key)}] = {to_lua(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as Lua")


def run_filter(filter_name: str, cases: list[dict[str, Any]], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Runs the named filter over the cases; name → what the filter left behind."""
    executable = luajit()
    filter_file = tmp_path / "filter.lua"
    filter_file.write_text(lua_source(load_yaml(), filter_name))
    cases_file = tmp_path / "cases.lua"
    cases_file.write_text("return " + to_lua(cases) + "\n")
    completed = subprocess.run(
        [executable, str(HARNESS), str(filter_file), str(cases_file)],
        capture_output=True,
        text=True,
        timeout=LUAJIT_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = {}
    for line in completed.stdout.splitlines():
        report = json.loads(line)
        report["body"] = bytes(report["body"]).decode() if report.get("body") is not None else None
        results[report["name"]] = report
    assert len(results) == len(cases), completed.stdout
    return results


def headers_of(entries: list[list[str]]) -> dict[str, str]:
    """Header entries → one value per name (repeats joined, as Envoy's get() does)."""
    headers: dict[str, str] = {}
    for name, value in entries:
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers
