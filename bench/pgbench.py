"""The yardstick: pgbench's built-in TPC-B-like script on the engine's own PostgreSQL.

Every engine figure is printed as a ratio to what pgbench reaches on the same server,
in the same run, at the same number of clients: on a shared, noisy 2-core machine an
absolute figure says as much about the neighbours as about the engine, a ratio much less.

TPC-B here is 5 statements in one transaction (3 updates, 1 select, 1 insert) and one
durable commit — about the database work of one payment step, with none of the
engine's Python, gRPC and HTTP around it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.stats import LatencySummary, summarize_ms
from launcher.embedded_db import SUPERUSER, postgres_bin_dir
from launcher.ports import LOOPBACK_HOST

DATABASE: Final = "pgbench"
SCALE_DEFAULT: Final = 10
THREADS_MAX: Final = 2
INIT_TIMEOUT_S: Final = 600.0
# A run of -T seconds ends on its own; beyond this grace it is stuck.
RUN_GRACE_S: Final = 60.0
# pgbench's per-transaction log: client, transaction number, latency in µs, script,
# epoch seconds, µs — one file per thread.
LOG_LATENCY_FIELD: Final = 2
US_PER_MS: Final = 1000.0
LOG_LINES_MAX: Final = 5_000_000
OUTPUT_TAIL_CHARS: Final = 2000

_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
_TRANSACTIONS = re.compile(r"number of transactions actually processed: (\d+)")
_FAILED = re.compile(r"number of failed transactions: (\d+)")


class PgbenchError(Exception):
    pass


@dataclass(frozen=True)
class PgbenchRun:
    clients: int
    threads: int
    seconds: float
    tps: float
    transactions: int
    failed: int
    latency: LatencySummary | None


def describe(run: PgbenchRun) -> str:
    latency = run.latency
    figures = f"p50 {latency.p50_ms:.2f} ms  p99 {latency.p99_ms:.2f} ms" if latency else "no latencies"
    return (
        f"pgbench TPC-B c={run.clients:<3} j={run.threads}  {run.tps:,.1f} tps  {figures}"
        f"  ({run.transactions:,} transactions, {run.failed} failed)"
    )


def pgbench_path() -> Path:
    return postgres_bin_dir() / "pgbench"


def _connection_args(port: int) -> list[str]:
    # TCP to 127.0.0.1 rather than the unix socket: the socket directory belongs to the
    # PostgreSQL system user when we are root, and TCP is how the engine connects too.
    return ["-h", LOOPBACK_HOST, "-p", str(port), "-U", SUPERUSER]


def _run(command: list[str], timeout_s: float) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as error:
        raise PgbenchError(f"{' '.join(command[:3])}… did not finish within {timeout_s:.0f} s") from error
    except OSError as error:
        raise PgbenchError(f"cannot run pgbench: {error}") from error
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise PgbenchError(f"pgbench exited with {completed.returncode}:\n{output[-OUTPUT_TAIL_CHARS:]}")
    return output


def initialise(port: int, *, scale: int = SCALE_DEFAULT) -> None:
    """`pgbench -i -s <scale>` into its own database (created beforehand)."""
    command = [str(pgbench_path()), "-i", "-s", str(scale), "-q", *_connection_args(port), DATABASE]
    _run(command, INIT_TIMEOUT_S)


def parse_summary(output: str) -> tuple[float, int, int]:
    """tps, transactions processed and failed, from pgbench's closing report."""
    tps = _TPS.search(output)
    transactions = _TRANSACTIONS.search(output)
    if tps is None or transactions is None:
        raise PgbenchError(f"unexpected pgbench output:\n{output[-OUTPUT_TAIL_CHARS:]}")
    failed = _FAILED.search(output)
    return float(tps.group(1)), int(transactions.group(1)), int(failed.group(1)) if failed else 0


def parse_latencies_ms(log_text: str) -> list[float]:
    samples = []
    for line in log_text.splitlines()[:LOG_LINES_MAX]:
        fields = line.split()
        if len(fields) > LOG_LATENCY_FIELD:
            samples.append(int(fields[LOG_LATENCY_FIELD]) / US_PER_MS)
    return samples


def run_tpcb(port: int, *, clients: int, seconds: float) -> PgbenchRun:
    """The built-in tpcb-like script for `seconds` at `clients`, with every transaction's
    latency logged so that its p50/p99 are exact, like the engine's."""
    threads = min(THREADS_MAX, clients)
    with tempfile.TemporaryDirectory(prefix="pe-pgbench-") as scratch:
        prefix = Path(scratch) / "tx"
        command = [
            str(pgbench_path()),
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(max(1, round(seconds))),
            "-l",
            f"--log-prefix={prefix}",
            *_connection_args(port),
            DATABASE,
        ]
        output = _run(command, seconds + RUN_GRACE_S)
        tps, transactions, failed = parse_summary(output)
        samples: list[float] = []
        for log_file in sorted(Path(scratch).glob("tx.*")):
            samples += parse_latencies_ms(log_file.read_text())
    return PgbenchRun(
        clients=clients,
        threads=threads,
        seconds=seconds,
        tps=tps,
        transactions=transactions,
        failed=failed,
        latency=summarize_ms(samples),
    )
