"""What bench/plot.py reads from a results document: one row per measured run, and the
run's date, machine and id.

A saved file may come from an older run or be edited by hand, so every value is read
defensively: one that is missing or not a number is None (drawn as missing), never raised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

# Bounds: a document lists a few dozen runs; anything beyond is counted, not drawn.
ROWS_MAX: Final = 200
TEXT_CHARS_MAX: Final = 160
TITLE_CHARS_MAX: Final = 100


@dataclass(frozen=True)
class PlotRow:
    """One measured run as drawn; None where the document has no usable number."""

    scenario: str
    label: str
    clients: int | None
    ops_per_s: float | None
    pgbench_tps: float | None
    ratio: float | None
    p50_ms: float | None
    p99_ms: float | None
    cpu_ms_per_op: float | None
    errors: int


def number(value: object) -> float | None:
    """A finite number, or None: JSON may hold null, strings, booleans or NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return result if math.isfinite(result) else None


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(entry: Mapping[str, Any]) -> PlotRow:
    scenario = str(entry.get("scenario") or "")
    label = f"{scenario} {entry.get('variant') or ''}".strip() or "(unnamed run)"
    latency = entry.get("latency")
    latency = latency if isinstance(latency, Mapping) else {}
    ops_per_s = number(entry.get("ops_per_s"))
    pgbench_tps = number(entry.get("pgbench_tps_same_clients"))
    ratio = number(entry.get("ratio_to_pgbench"))
    if ratio is None and ops_per_s is not None and pgbench_tps:
        ratio = ops_per_s / pgbench_tps
    clients = number(entry.get("clients"))
    errors = number(entry.get("errors"))
    return PlotRow(
        scenario=scenario,
        label=label,
        clients=None if clients is None else int(clients),
        ops_per_s=ops_per_s,
        pgbench_tps=pgbench_tps,
        ratio=ratio,
        p50_ms=number(latency.get("p50_ms")),
        p99_ms=number(latency.get("p99_ms")),
        cpu_ms_per_op=number(entry.get("engine_cpu_ms_per_op")),
        errors=0 if errors is None else max(int(errors), 0),
    )


def rows_of(document: Mapping[str, Any]) -> tuple[list[PlotRow], int]:
    """The rows to draw, and how many more the document has beyond ROWS_MAX."""
    results = document.get("results")
    entries = [entry for entry in results if isinstance(entry, Mapping)] if isinstance(results, list) else []
    return [_row(entry) for entry in entries[:ROWS_MAX]], max(len(entries) - ROWS_MAX, 0)


def _when(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "date unknown"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return short(value, 40)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _reference_range(machine: Mapping[str, Any]) -> str:
    """The lowest and highest Python reference taken before the scenarios, when the run
    recorded them (older results did not)."""
    by_scenario = machine.get("python_reference_ms_by_scenario")
    if not isinstance(by_scenario, Mapping):
        return ""
    readings = [reading for value in by_scenario.values() if (reading := number(value)) is not None]
    if not readings:
        return ""
    return f" ({min(readings):g} to {max(readings):g} during the run)"


def title_lines(document: Mapping[str, Any]) -> tuple[str, str]:
    run_id = document.get("run_id")
    title = f"Payment Engine bench · {_when(document.get('generated_at'))}"
    if run_id:
        title += f" · run {run_id}"
    machine = document.get("machine")
    machine = machine if isinstance(machine, Mapping) else {}
    cores = number(machine.get("nproc"))
    if cores is None:
        cores = number(machine.get("cpu_count"))
    facts = [
        "cores unknown" if cores is None else f"{cores:g} cores",
        str(machine.get("cpu_model") or "unknown CPU"),
    ]
    if machine.get("python"):
        facts.append(f"Python {machine['python']}")
    reference_ms = number(machine.get("python_reference_ms"))
    if reference_ms is not None:
        facts.append(f"Python reference {reference_ms:g} ms{_reference_range(machine)}")
    settings = document.get("postgres_settings")
    if isinstance(settings, Mapping) and settings.get("server_version"):
        facts.append(f"PostgreSQL {settings['server_version']}")
    options = document.get("options")
    if isinstance(options, Mapping):
        if options.get("quick"):
            facts.append("--quick (indicative figures)")
        if options.get("pooler"):
            facts.append("services through PgBouncer")
    return short(title, TITLE_CHARS_MAX), short(" · ".join(facts), TEXT_CHARS_MAX)
