"""What a benchmark run prints and saves: one row per measured run, each beside pgbench."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.stats import LatencySummary, ratio

NOT_ENGINE: Final = frozenset({"bench", "receiver", "others"})
CPU_COLUMNS: Final = (
    "gateway",
    "auth",
    "accounts",
    "transactions",
    "webhooks",
    "postgres",
    "bench",
    "receiver",
    "launcher",
    "others",
)
ERROR_REASONS_SHOWN: Final = 3


@dataclass
class Row:
    scenario: str
    variant: str
    clients: int
    ops: int
    ops_per_s: float | None
    latency: LatencySummary | None
    errors: int
    # pgbench TPC-B transactions per second at the same number of clients, same run.
    baseline_tps: float | None
    error_reasons: dict[str, int] = field(default_factory=dict)
    cpu_percent: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.variant}".strip()

    @property
    def ratio(self) -> float | None:
        return ratio(self.ops_per_s, self.baseline_tps)

    @property
    def engine_cpu_ms_per_op(self) -> float | None:
        """CPU of every engine process (services, gateway, PostgreSQL, its host) per
        operation; the load generator, the receiver and the neighbours are not counted."""
        engine_percent = sum(v for name, v in self.cpu_percent.items() if name not in NOT_ENGINE)
        if not self.cpu_percent or not self.ops_per_s:
            return None
        return engine_percent / 100 / self.ops_per_s * 1000

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "clients": self.clients,
            "ops": self.ops,
            "ops_per_s": None if self.ops_per_s is None else round(self.ops_per_s, 2),
            "latency": None if self.latency is None else self.latency.as_json(),
            "errors": self.errors,
            "error_reasons": self.error_reasons,
            "pgbench_tps_same_clients": None if self.baseline_tps is None else round(self.baseline_tps, 2),
            "ratio_to_pgbench": None if self.ratio is None else round(self.ratio, 4),
            "cpu_percent_of_one_core": {name: round(value, 1) for name, value in self.cpu_percent.items()},
            "engine_cpu_ms_per_op": self.engine_cpu_ms_per_op,
            "details": self.details,
        }


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def progress_line(row: Row) -> str:
    latency = row.latency
    return (
        f"  {row.label:<34} c={row.clients:<3} {row.ops:>7,} ops {_number(row.ops_per_s):>9}/s"
        f"  p50 {_number(latency.p50_ms if latency else None, 2):>8} ms"
        f"  p99 {_number(latency.p99_ms if latency else None, 2):>8} ms"
        f"  err {row.errors}  x pgbench {_number(row.ratio, 3)}"
    )


def results_table(rows: Sequence[Row]) -> list[str]:
    header = (
        f"{'scenario':<36} {'clients':>7} {'ops':>9} {'ops/s':>10} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'errors':>7} {'pgbench tps':>11} {'ratio':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        latency = row.latency
        lines.append(
            f"{row.label:<36} {row.clients:>7} {row.ops:>9,} {_number(row.ops_per_s):>10}"
            f" {_number(latency.p50_ms if latency else None, 2):>9}"
            f" {_number(latency.p99_ms if latency else None, 2):>9}"
            f" {row.errors:>7} {_number(row.baseline_tps):>11} {_number(row.ratio, 3):>7}"
        )
    return lines


def cpu_table(rows: Sequence[Row]) -> list[str]:
    """CPU per process during each run, in % of one core (the machine's cores x 100 is
    everything there is); `others` is whatever else ran on the machine meanwhile."""
    columns = [name for name in CPU_COLUMNS if any(name in row.cpu_percent for row in rows)]
    if not columns:
        return []
    header = (
        f"{'scenario':<36} {'clients':>7} "
        + " ".join(f"{name[:12]:>12}" for name in columns)
        + "  total  engine CPU ms/op"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        if not row.cpu_percent:
            continue
        cells = " ".join(f"{_number(row.cpu_percent.get(name), 0):>12}" for name in columns)
        total = sum(row.cpu_percent.values())
        per_op = row.engine_cpu_ms_per_op
        lines.append(f"{row.label:<36} {row.clients:>7} {cells}  {total:5.0f}  {_number(per_op, 2):>16}")
    return lines


def error_lines(rows: Sequence[Row]) -> list[str]:
    lines = []
    for row in rows:
        if not row.error_reasons:
            continue
        reasons = sorted(row.error_reasons.items(), key=lambda item: -item[1])[:ERROR_REASONS_SHOWN]
        shown = "; ".join(f"{count}x {reason}" for reason, count in reasons)
        lines.append(f"  {row.label} c={row.clients}: {shown}")
    return lines


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
