"""One benchmark run: engine up, pgbench baselines, every scenario, report, engine down."""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import psycopg
import uvloop

from bench import database, pgbench, plot, report
from bench.context import BenchContext, SkipScenario
from bench.cpu import CpuMeter
from bench.engine import EngineInfo, EngineProcess, EngineStartError
from bench.options import BenchOptions, parse_options
from bench.pgbench import PgbenchError, PgbenchRun
from bench.scenarios import SCENARIO_FUNCTIONS
from bench.scenarios.payments import TARGET_COMPLETED_PER_S, TARGET_P99_CREATE_MS
from bench.scenarios.webhooks import TARGET_EVENTS_PER_S, TARGET_P99_MS
from launcher.database import create_database_if_missing

# The login scenario logs in thousands of times from one address; the engine's default
# (60 a minute) would turn it into a benchmark of the throttle.
LOGIN_ATTEMPTS_PER_ADDRESS_MAX: Final = 10_000_000
REQUEST_QUOTA_PER_MINUTE: Final = 100_000_000
# The machine's speed for Python, timed before the load starts.
REFERENCE_ROUNDS: Final = 5
REFERENCE_ITEMS: Final = 200_000
# The payment path's targets as ratios to pgbench TPC-B at the same clients in the same
# run: RTP payments created and completed at 32 clients; hold + post over gRPC;
# authenticated reads through the edge and over gRPC.
RTP_TARGET_RATIO: Final = 0.4
RTP_TARGET_CLIENTS: Final = 32
HOLD_POST_TARGET_RATIO: Final = 1.0
READ_TARGET_RATIO: Final = 1.0
RATIO_TARGETS: Final[dict[tuple[str, str | None], tuple[str, float]]] = {
    ("rtp_payments", "hot completed"): ("RTP created → completed, the guide's pair", RTP_TARGET_RATIO),
    ("rtp_payments", "spread completed"): ("RTP created → completed, spread accounts", RTP_TARGET_RATIO),
    # Whatever the number of spread accounts (the variant names it).
    ("hold_post_spread", None): ("hold + post over gRPC, spread accounts", HOLD_POST_TARGET_RATIO),
    ("auth_me", "api key"): ("GET /auth/me with an API key", READ_TARGET_RATIO),
    ("auth_me", "bearer"): ("GET /auth/me with a bearer token", READ_TARGET_RATIO),
    ("balance_read", "http"): ("balance read through the edge", READ_TARGET_RATIO),
    ("balance_read", "grpc"): ("balance read over gRPC", READ_TARGET_RATIO),
}
HOT_PAYEE_SHARE_TARGET: Final = 0.8
CPU_MS_PER_PAYMENT_TARGET: Final = 1.5
GUIDE_P99_TARGET_MS: Final = 50.0
BATCH_PAYMENTS_TARGET_PER_S: Final = 10_000.0
RUN_ID_BYTES: Final = 4
CPU_MODEL_KEY: Final = "model name"


def python_reference_ms() -> float:
    """Milliseconds of one core for a fixed piece of pure Python (dicts, strings,
    integers: the stuff of the engine's processes), best of a few. The machine is shared,
    and its speed varies from day to day by more than pgbench shows: runs compare by it."""
    best = float("inf")
    for _ in range(REFERENCE_ROUNDS):
        started = time.process_time()
        rows: dict[str, int] = {}
        for number in range(REFERENCE_ITEMS):
            key = f"acc_{number:08d}"
            rows[key] = rows.get(key, 0) + number * 7 % 1000
        _ = "".join(sorted(rows)[:: REFERENCE_ITEMS // 100])
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(CPU_MODEL_KEY):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python_reference_ms": python_reference_ms(),
    }


def _print_section(title: str, lines: Sequence[str]) -> None:
    print(f"\n== {title}", flush=True)
    for line in lines:
        print(line, flush=True)


async def prepare_pgbench(ctx: BenchContext) -> None:
    """pgbench -i into its own database on the engine's server; the runs themselves come
    before each scenario run (context.py)."""
    engine = ctx.engine
    started = time.monotonic()
    await asyncio.to_thread(
        create_database_if_missing, engine.server_database_url("postgres"), pgbench.DATABASE
    )
    await asyncio.to_thread(pgbench.initialise, engine.postgres_port, scale=ctx.options.pgbench_scale)
    await database.checkpoint(engine.libpq_url)
    ctx.pgbench_ready = True
    print(
        f"  pgbench -i -s {ctx.options.pgbench_scale}: {time.monotonic() - started:.1f} s; "
        f"each run below is preceded by {ctx.options.pgbench_seconds:g} s of pgbench TPC-B at its clients",
        flush=True,
    )


async def run_scenarios(ctx: BenchContext, host: EngineProcess) -> None:
    for name in ctx.options.scenarios:
        failure = host.failure()
        if failure is not None:
            ctx.note(f"{name} not run: {failure}")
            continue
        reference_ms = python_reference_ms()
        ctx.python_reference_ms[name] = reference_ms
        print(f"\n== {name}  (Python reference {reference_ms} ms)", flush=True)
        try:
            await SCENARIO_FUNCTIONS[name](ctx)
        except SkipScenario as reason:
            ctx.note(f"{name} skipped: {reason}")
        except Exception as error:
            traceback.print_exc()
            ctx.note(f"{name} failed: {type(error).__name__}: {error}")


def target_lines(ctx: BenchContext) -> list[str]:
    """The issues' targets beside what this run reached."""
    rows = ctx.rows
    lines = []
    for row in rows:
        target = RATIO_TARGETS.get((row.scenario, row.variant)) or RATIO_TARGETS.get((row.scenario, None))
        if target is None or row.ratio is None:
            continue
        if row.scenario == "rtp_payments" and row.clients != RTP_TARGET_CLIENTS:
            continue
        label, ratio = target
        verdict = "met" if row.ratio >= ratio else "not met"
        lines.append(
            f"  {label} ≥ {ratio:.1f}x pgbench, c={row.clients}: {row.ratio:.2f}x "
            f"({row.ops_per_s:,.0f}/s vs {row.baseline_tps:,.0f} tps) — {verdict}"
        )
    for row in rows:
        if (
            row.scenario == "rtp_payments"
            and row.variant.startswith("paced")
            and row.variant.endswith("create")
        ):
            p99 = row.latency.p99_ms if row.latency else None
            offered = row.details.get("offered_rate_per_s", 0.0)
            at_half_target = offered >= TARGET_COMPLETED_PER_S / 2
            verdict = (
                "met" if p99 is not None and p99 <= TARGET_P99_CREATE_MS and at_half_target else "not met"
            )
            where = (
                ""
                if at_half_target
                else f" (only at {offered:.0f}/s: the engine did not reach the target rate)"
            )
            lines.append(
                f"  p99 create ≤ {TARGET_P99_CREATE_MS:.0f} ms at {TARGET_COMPLETED_PER_S / 2:.0f}/s: "
                f"p99 {p99 if p99 is None else round(p99, 1)} ms{where} — {verdict}"
            )
    spread_created = {
        row.clients: row for row in rows if row.scenario == "rtp_payments" and row.variant == "spread create"
    }
    for row in rows:
        if row.scenario != "rtp_payments" or not row.variant.endswith("create"):
            continue
        if row.variant == "hot-payee create" and row.clients in spread_created:
            spread = spread_created[row.clients].ops_per_s or 0.0
            share = (row.ops_per_s or 0.0) / spread if spread else 0.0
            lines.append(
                f"  hot payee ≥ {HOT_PAYEE_SHARE_TARGET:.0%} of spread at c={row.clients}: {share:.0%} — "
                f"{'met' if share >= HOT_PAYEE_SHARE_TARGET else 'not met'}"
            )
        if row.variant == "spread create" and row.clients == 32:
            per_payment = row.engine_cpu_ms_per_op
            verdict = (
                "met" if per_payment is not None and per_payment <= CPU_MS_PER_PAYMENT_TARGET else "not met"
            )
            lines.append(
                f"  engine CPU per completed RTP payment ≤ {CPU_MS_PER_PAYMENT_TARGET} ms: "
                f"{per_payment if per_payment is None else round(per_payment, 2)} ms — {verdict}"
            )
        if row.variant.startswith("guide@"):
            p99 = row.latency.p99_ms if row.latency else None
            verdict = (
                "met" if p99 is not None and p99 <= GUIDE_P99_TARGET_MS and row.errors == 0 else "not met"
            )
            lines.append(
                "  the guide's load test open loop at 100/s: every answer 201 and "
                f"p99 ≤ {GUIDE_P99_TARGET_MS:.0f} ms: "
                f"{row.errors} errors, p99 {p99 if p99 is None else round(p99, 1)} ms — {verdict}"
            )
    for row in rows:
        if row.scenario == "rtp_batches" and row.variant == "payments completed":
            reached = row.ops_per_s or 0.0
            verdict = "met" if reached >= BATCH_PAYMENTS_TARGET_PER_S else "not met"
            lines.append(
                f"  batch API ≥ {BATCH_PAYMENTS_TARGET_PER_S:,.0f} payments/s created and completed: "
                f"{reached:,.0f}/s — {verdict}"
            )
    for row in rows:
        if row.scenario == "webhook_delivery" and row.variant.endswith("commit→arrival"):
            p99 = row.latency.p99_ms if row.latency else None
            # At the rate events were committed (outbox), or delivered (payments: their
            # rate is whatever the payments made); every event must have arrived.
            rate = float(row.details.get("events_per_s_offered", row.ops_per_s or 0.0))
            kept_up = row.errors == 0 and rate >= TARGET_EVENTS_PER_S
            verdict = "met" if p99 is not None and p99 < TARGET_P99_MS and kept_up else "not met"
            source = row.variant.removesuffix(" commit→arrival")
            lines.append(
                f"  webhooks ({source}) p99 < {TARGET_P99_MS:.0f} ms at {TARGET_EVENTS_PER_S:.0f} events/s: "
                f"{rate:,.0f} events/s, {row.ops:,} delivered, {row.errors} missing, "
                f"p99 {p99 if p99 is None else round(p99, 1)} ms — {verdict}"
            )
    return lines


def _pgbench_json(run: PgbenchRun) -> dict[str, Any]:
    return {
        "clients": run.clients,
        "threads": run.threads,
        "seconds": run.seconds,
        "tps": round(run.tps, 2),
        "transactions": run.transactions,
        "failed": run.failed,
        "latency": run.latency.as_json() if run.latency else None,
    }


def _document(
    ctx: BenchContext,
    machine: dict[str, Any],
    settings: dict[str, str],
    env: dict[str, str],
) -> dict[str, Any]:
    options = ctx.options
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "run_id": ctx.run_id,
        "machine": machine,
        "postgres_settings": settings,
        "engine_env": env,
        "options": {
            "scenarios": list(options.scenarios),
            "warmup_s": options.warmup_s,
            "duration_s": options.duration_s,
            "pgbench_seconds": options.pgbench_seconds,
            "pgbench_scale": options.pgbench_scale,
            "spread_accounts": options.spread_accounts,
            "spread_payers": options.spread_payers,
            "quick": options.quick,
            "profile": list(options.profile),
            "pooler": options.pooler,
        },
        "pgbench": [{"before": label, **_pgbench_json(run)} for label, run in ctx.pgbench_runs],
        "setup": ctx.setup_timings,
        "results": [row.as_json() for row in ctx.rows],
        "targets": target_lines(ctx),
        "profiles": ctx.profiles,
        "notes": ctx.notes,
    }


async def bench(options: BenchOptions, host: EngineProcess, engine: EngineInfo, env: dict[str, str]) -> int:
    machine = machine_info()
    settings = await database.server_settings(engine.libpq_url)
    _print_section(
        "machine and PostgreSQL",
        [
            f"  {machine['nproc']} cores available ({machine['cpu_model'] or 'unknown CPU'}), "
            f"Python {machine['python']}, load average {machine['load_average_at_start']}",
            f"  a fixed piece of pure Python took {machine['python_reference_ms']} ms of CPU "
            "(lower is a faster machine: compare runs of different days by it)",
            "  PostgreSQL (durable, as `payment-engine up` runs it): "
            + ", ".join(f"{name}={value}" for name, value in settings.items()),
            "  engine environment: " + ", ".join(f"{name}={value}" for name, value in env.items()),
        ],
    )
    ctx = BenchContext(
        options=options,
        engine=engine,
        cpu=CpuMeter(engine.pids, engine.postmaster_pid),
        run_id=secrets.token_hex(RUN_ID_BYTES),
    )
    if host.pid is not None:
        ctx.cpu.add("launcher", host.pid)
    print("\n== pgbench TPC-B on the same PostgreSQL", flush=True)
    try:
        await prepare_pgbench(ctx)
    except (PgbenchError, psycopg.Error, OSError) as error:
        ctx.note(f"pgbench did not run, so there are no ratios: {error}")
    await run_scenarios(ctx, host)
    machine["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine["python_reference_ms_by_scenario"] = ctx.python_reference_ms
    if ctx.python_reference_ms:
        during = ctx.python_reference_ms.values()
        print(
            f"\n  the Python reference before each scenario: {min(during)} to {max(during)} ms "
            f"(at the start: {machine['python_reference_ms']} ms)",
            flush=True,
        )

    _print_section(
        "results (ratio = ops/s ÷ pgbench TPC-B tps at the same clients, same run)",
        [*report.results_table(ctx.rows)],
    )
    _print_section("CPU per process during each run (% of one core)", report.cpu_table(ctx.rows))
    errors = report.error_lines(ctx.rows)
    if errors:
        _print_section("errors", errors)
    _print_section("targets from the issues", target_lines(ctx) or ["  (no run measured a target)"])
    for profile in ctx.profiles:
        _print_section(f"profile of {profile['run']} ({profile['tool']})", profile["lines"])
    if ctx.notes:
        _print_section("notes", [f"  {note}" for note in ctx.notes])
    document = _document(ctx, machine, settings, env)
    report.write_json(options.output, document)
    print(f"\nresults saved to {options.output}", flush=True)
    if options.plot is not None:
        print(plot.write_after_run(options.plot, document), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    env = {
        "PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": str(LOGIN_ATTEMPTS_PER_ADDRESS_MAX),
        # Every simulated client is one credential from one address: the sandbox's request
        # quotas (6,000 a minute per credential) would measure the quota, not the engine.
        "PE_RATE_LIMIT_CREDENTIAL_PER_MINUTE": str(REQUEST_QUOTA_PER_MINUTE),
        "PE_RATE_LIMIT_ADDRESS_PER_MINUTE": str(REQUEST_QUOTA_PER_MINUTE),
        "PE_LOG_LEVEL": options.engine_log_level,
    }
    data_dir = Path(tempfile.mkdtemp(prefix="pe-bench-"))
    started = time.monotonic()
    through = " (services through PgBouncer, transaction pooling)" if options.pooler else ""
    print(f"starting the engine in {data_dir}{through} …", flush=True)
    try:
        with EngineProcess(data_dir, env, pooler=options.pooler) as host:
            assert host.info is not None
            print(f"  engine ready in {time.monotonic() - started:.1f} s at {host.info.base_url}", flush=True)
            status = uvloop.run(bench(options, host, host.info, env))
    except EngineStartError as error:
        print(f"error: the engine did not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the engine was stopped", file=sys.stderr)
        return 130
    finally:
        if options.keep_data:
            print(f"engine data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"total {time.monotonic() - started:.0f} s")
    return status
