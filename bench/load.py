"""The load drivers: closed-loop clients, and an open-loop pacer.

Closed loop (`run_closed`): each client sends its next request as soon as the previous
one answers — the usual "N concurrent clients" benchmark, measuring the most the engine
does at that concurrency.

Open loop (`run_paced`): requests are due at a fixed rate whatever the engine does, on
at most N clients at once. Latency counts from when a request was *due*, not when a free
client finally sent it, so an engine that falls behind shows it in its latency instead of
quietly slowing the load down (coordinated omission).

Both run a warm-up whose samples are thrown away, then a measured phase of fixed length.
Every loop is bounded in count as well as time, and every operation has a timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

import grpc

NS_PER_S: Final = 1_000_000_000
# One operation (one request, or a hold+post pair) that takes longer has failed.
OP_TIMEOUT_S: Final = 30.0
# Upper bound on operations per client and per run, whatever the duration says: no loop
# in a benchmark is unbounded. Far above what a few seconds on 2 cores can reach.
OPS_PER_CLIENT_MAX: Final = 1_000_000
OPS_PER_RUN_MAX: Final = 5_000_000
# Error reasons are kept by message; a flood of distinct messages is cut off here.
ERROR_REASONS_MAX: Final = 20
ERROR_REASON_LENGTH_MAX: Final = 200

C = TypeVar("C")

# op(client, sequence number, measured) — `measured` is False during the warm-up, so an
# operation can tag what it creates (the payments scenario counts only measured payments).
Operation = Callable[[C, int, bool], Awaitable[None]]


class OpFailed(Exception):
    """The engine answered, but not as it should (status, body)."""


@dataclass(frozen=True)
class Phases:
    warmup_s: float
    duration_s: float


@dataclass
class RunResult:
    """Latencies and errors of the operations *started* in the measured phase; throughput
    from the operations *completed* in it. Both are unbiased in a steady state, where
    dividing the started ones by the time until the last answer would not be (the tail of
    answers after the end would count as time without counting as work)."""

    clients: int
    # perf_counter_ns of the measured phase's start and end.
    measure_start_ns: int
    measure_end_ns: int
    # The same start as a Unix time, to compare with timestamps the engine writes.
    measure_start_unix: float
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    error_reasons: Counter[str] = field(default_factory=Counter)
    # Successful operations that ended inside the measured phase, whenever they started.
    completed_in_phase: int = 0
    offered_rate_per_s: float | None = None

    @property
    def ops(self) -> int:
        return len(self.latencies_ns)

    @property
    def duration_s(self) -> float:
        return (self.measure_end_ns - self.measure_start_ns) / NS_PER_S

    @property
    def ops_per_s(self) -> float:
        return self.completed_in_phase / self.duration_s if self.duration_s > 0 else 0.0

    def record_ok(self, *, started_ns: int, end_ns: int, measured: bool) -> None:
        if measured:
            self.latencies_ns.append(end_ns - started_ns)
        if self.measure_start_ns <= end_ns < self.measure_end_ns:
            self.completed_in_phase += 1

    def record_error(self, error: BaseException) -> None:
        self.errors += 1
        reason = describe_error(error)
        if reason in self.error_reasons or len(self.error_reasons) < ERROR_REASONS_MAX:
            self.error_reasons[reason] += 1


def describe_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"timeout after {OP_TIMEOUT_S:.0f} s"
    if isinstance(error, grpc.aio.AioRpcError):
        return f"gRPC {error.code().name}: {error.details()}"[:ERROR_REASON_LENGTH_MAX]
    text = " ".join(str(error).split()) or type(error).__name__
    if not isinstance(error, OpFailed):
        text = f"{type(error).__name__}: {text}"
    return text[:ERROR_REASON_LENGTH_MAX]


def _start_clock(phases: Phases, clients: int) -> RunResult:
    now_ns = time.perf_counter_ns()
    measure_start_ns = now_ns + int(phases.warmup_s * NS_PER_S)
    return RunResult(
        clients=clients,
        measure_start_ns=measure_start_ns,
        measure_end_ns=measure_start_ns + int(phases.duration_s * NS_PER_S),
        measure_start_unix=time.time() + phases.warmup_s,
    )


async def _timed(
    operation: Operation[C], client: C, number: int, measured: bool, started_ns: int, result: RunResult
) -> None:
    """Runs one operation and records it if it belongs to the measured phase. Every
    failure is recorded, never raised: a benchmark reports, it does not stop at the first
    error."""
    try:
        async with asyncio.timeout(OP_TIMEOUT_S):
            await operation(client, number, measured)
    except Exception as error:
        if measured:
            result.record_error(error)
        return
    result.record_ok(started_ns=started_ns, end_ns=time.perf_counter_ns(), measured=measured)


async def run_closed(clients: Sequence[C], operation: Operation[C], phases: Phases) -> RunResult:
    """Every client loops until the measured phase ends; an operation counts when it
    started inside the measured phase."""
    result = _start_clock(phases, len(clients))
    numbers = itertools.count()

    async def client_loop(client: C) -> None:
        for _ in range(OPS_PER_CLIENT_MAX):
            started_ns = time.perf_counter_ns()
            if started_ns >= result.measure_end_ns:
                return
            measured = started_ns >= result.measure_start_ns
            await _timed(operation, client, next(numbers), measured, started_ns, result)

    await asyncio.gather(*(client_loop(client) for client in clients))
    return result


async def run_paced(
    clients: Sequence[C], operation: Operation[C], phases: Phases, rate_per_s: float
) -> RunResult:
    """Operations due every 1/rate seconds, each on a free client (at most len(clients)
    in flight); latency counts from the due time."""
    if rate_per_s <= 0:
        raise ValueError("rate must be positive")
    result = _start_clock(phases, len(clients))
    result.offered_rate_per_s = rate_per_s
    idle: asyncio.Queue[C] = asyncio.Queue()
    for client in clients:
        idle.put_nowait(client)
    interval_ns = NS_PER_S / rate_per_s
    start_ns = time.perf_counter_ns()
    total = min(int((phases.warmup_s + phases.duration_s) * rate_per_s), OPS_PER_RUN_MAX)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(client: C, number: int, due_ns: int) -> None:
        try:
            await _timed(operation, client, number, due_ns >= result.measure_start_ns, due_ns, result)
        finally:
            idle.put_nowait(client)

    for number in range(total):
        due_ns = start_ns + int(number * interval_ns)
        delay_ns = due_ns - time.perf_counter_ns()
        if delay_ns > 0:
            await asyncio.sleep(delay_ns / NS_PER_S)
        # Waits while every client is busy; the wait counts in the latency (from due_ns).
        client = await idle.get()
        task = asyncio.create_task(one(client, number, due_ns))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    return result
