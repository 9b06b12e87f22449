"""What every scenario works with: the engine, the pgbench baselines, the CPU meter, and
`measure`, which runs one load and turns it into a result row.

Every measured run is preceded by its own short pgbench TPC-B run at the same number of
clients, and the run's ratio is to that figure: on a shared machine the neighbours'
load moves by a factor of two within minutes, and a baseline taken seconds before the
run moves with it, where one taken at the start would not."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from bench import pgbench, profiling
from bench.cpu import CpuMeter, percent_of_core, process_cpu_s
from bench.engine import EngineInfo
from bench.load import Phases, RunResult
from bench.options import PROFILE_PROCESSES, BenchOptions
from bench.report import Row, progress_line
from bench.stats import summarize_ns

T = TypeVar("T")


@dataclass(frozen=True)
class AccountSet:
    """Accounts a scenario moves money between: payers are funded, payees are any."""

    accounts: list[str]
    payers: list[str]

    def pair(self, chooser: random.Random) -> tuple[str, str]:
        payer = chooser.choice(self.payers)
        index = chooser.randrange(len(self.accounts))
        payee = self.accounts[index]
        if payee == payer:
            # The neighbour instead: no payment to oneself, and no unbounded redraw.
            payee = self.accounts[(index + 1) % len(self.accounts)]
        return payer, payee


class SkipScenario(Exception):
    """The scenario cannot run on this engine (a service missing, an RPC not there)."""


@dataclass
class BenchContext:
    options: BenchOptions
    engine: EngineInfo
    cpu: CpuMeter
    # A short tag that keeps this run's ids and references apart from any other run's.
    run_id: str
    # Set once pgbench's tables exist; cleared if pgbench fails (then there are no ratios).
    pgbench_ready: bool = False
    # The latest pgbench run at each client count, and every run with what it preceded.
    baselines: dict[int, pgbench.PgbenchRun] = field(default_factory=dict)
    pgbench_runs: list[tuple[str, pgbench.PgbenchRun]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    setup_timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The machine's speed just before each scenario (runner.python_reference_ms): a
    # shared machine can slow down by half within one run.
    python_reference_ms: dict[str, float] = field(default_factory=dict)
    # Created on first use by the scenarios that need them (scenarios/accounts.py).
    hot_accounts: AccountSet | None = None
    spread_accounts: AccountSet | None = None
    # Completed RTP payments per second on spread accounts at the most clients, once the
    # payments scenario measured it: the webhooks scenario pushes payments below it.
    sustained_payments_per_s: float | None = None

    @property
    def phases(self) -> Phases:
        return Phases(self.options.warmup_s, self.options.duration_s)

    def baseline_tps(self, clients: int) -> float | None:
        baseline = self.baselines.get(clients)
        return baseline.tps if baseline is not None else None

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def add_row(self, row: Row) -> Row:
        self.rows.append(row)
        print(progress_line(row), flush=True)
        return row

    def check_engine(self) -> None:
        """Raises when an engine process is gone: later figures would be meaningless."""
        for name, pid in self.engine.pids.items():
            if self.cpu.available and not _alive(pid):
                raise RuntimeError(
                    f"the engine's {name} process (pid {pid}) is gone; see {self.engine.log_path}"
                )

    async def measure(
        self,
        scenario: str,
        variant: str,
        clients: int,
        load: Callable[[], Awaitable[RunResult]],
        *,
        profile: bool = False,
    ) -> tuple[Row, RunResult]:
        """Waits for the engine to go quiet, runs `load`, and records a row with the CPU
        each process used meanwhile. `profile` marks the run `--profile` should sample
        when it names this scenario."""
        profile_report: dict[str, Any] | None = None
        label = f"{scenario} {variant}".strip()
        if profile and scenario in self.options.profile:
            (result, profile_report), cpu = await self.metered(partial(self._profiled, load), clients, label)
        else:
            result, cpu = await self.metered(load, clients, label)
        row = Row(
            scenario=scenario,
            variant=variant,
            clients=clients,
            ops=result.ops,
            ops_per_s=result.ops_per_s,
            latency=summarize_ns(result.latencies_ns),
            errors=result.errors,
            baseline_tps=self.baseline_tps(clients),
            error_reasons=dict(result.error_reasons),
            cpu_percent=cpu,
        )
        if result.offered_rate_per_s is not None:
            row.details["offered_rate_per_s"] = result.offered_rate_per_s
        if profile_report is not None:
            row.details["profiled"] = True
            profile_report["run"] = f"{row.label} c={clients}"
            self.profiles.append(profile_report)
        return self.add_row(row), result

    async def metered(
        self, work: Callable[[], Awaitable[T]], clients: int, label: str
    ) -> tuple[T, dict[str, float]]:
        """Waits for the engine to go quiet, runs pgbench at `clients`, then runs `work`;
        its result, and the CPU each process used meanwhile (% of one core)."""
        self.check_engine()
        waited_s, quiet = await self.cpu.settle()
        if not quiet:
            self.note(f"{label} c={clients}: started with the engine still busy after {waited_s:.0f} s")
        await self._pgbench(clients, label)
        before = self.cpu.snapshot()
        started = time.monotonic()
        value = await work()
        return value, percent_of_core(before, self.cpu.snapshot(), time.monotonic() - started)

    async def _pgbench(self, clients: int, label: str) -> None:
        if not self.pgbench_ready:
            return
        try:
            run = await asyncio.to_thread(
                pgbench.run_tpcb,
                self.engine.postgres_port,
                clients=clients,
                seconds=self.options.pgbench_seconds,
            )
        except pgbench.PgbenchError as error:
            self.pgbench_ready = False
            self.note(f"pgbench failed, so later runs have no ratio: {error}")
            return
        self.baselines[clients] = run
        self.pgbench_runs.append((label, run))
        print(f"  {pgbench.describe(run)}", flush=True)

    async def _profiled(self, load: Callable[[], Awaitable[RunResult]]) -> tuple[RunResult, dict[str, Any]]:
        """Samples the engine during the measured phase only (after the warm-up)."""
        seconds = self.options.duration_s
        pids = {name: pid for name, pid in self.engine.pids.items() if name in PROFILE_PROCESSES}
        use_py_spy = profiling.py_spy_path() is not None

        async def after_warmup() -> tuple[dict[str, profiling.StackProfile], Counter[str]]:
            await asyncio.sleep(self.options.warmup_s)
            stacks_task = (
                asyncio.create_task(profiling.record_processes(pids, seconds)) if use_py_spy else None
            )
            waits = await profiling.sample_wait_events(
                self.engine.libpq_url, _database_name(self.engine), seconds
            )
            stacks = await stacks_task if stacks_task is not None else {}
            return stacks, waits

        sampler = asyncio.create_task(after_warmup())
        if use_py_spy:
            result = await load()
            client_top: list[str] = []
        else:
            with profiling.ClientProfiler() as client_profile:
                result = await load()
            client_top = client_profile.top()
        stacks, waits = await sampler
        report: dict[str, Any] = {
            "tool": "py-spy" if use_py_spy else "cProfile (load generator only: py-spy is not installed)",
            "processes": {
                name: {
                    "samples": stack.samples,
                    "error": stack.error,
                    "self": stack.self_samples.most_common(profiling.TOP_FUNCTIONS),
                    "total": stack.total_samples.most_common(profiling.TOP_FUNCTIONS),
                    "packages": stack.package_samples.most_common(profiling.TOP_PACKAGES),
                }
                for name, stack in stacks.items()
            },
            "postgres_wait_events": waits.most_common(profiling.TOP_WAIT_EVENTS),
            "lines": [
                *profiling.format_stack_profiles(stacks),
                "  PostgreSQL backends of the engine:",
                *profiling.format_wait_events(waits),
                *client_top,
            ],
        }
        return result, report


def _alive(pid: int) -> bool:
    return process_cpu_s(pid) is not None


def _database_name(engine: EngineInfo) -> str:
    return engine.libpq_url.rsplit("/", 1)[-1].split("?", 1)[0]
