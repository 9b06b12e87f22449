"""SIGKILL the transactions and accounts processes at random moments while payments
stream in, let the supervisor restart them, and check that nothing was lost or moved
twice: every accepted payment is final within a bounded time, none is duplicated, every
hold is posted or voided as its payment says, and the ledger reconciles to zero drift."""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import time
from typing import Final

import pytest

from launcher.backoff import RestartLimits
from launcher.supervisor import ChildState, Supervisor
from tests.faults.payment_stream import Outcome, audit_payments, stream_payments
from tests.harness.engine import EngineFactory

CLIENTS: Final = 6
PAYMENTS_PER_CLIENT: Final = 25
KILLS: Final = 6
ATTEMPTS_PER_PAYMENT_MAX: Final = 40
# The longest any payment may need to become final after the storm: the create lease
# (30 s) plus a step lease and some slack for restarts.
SETTLE_DEADLINE_S: Final = 90.0
KEY_PREFIX: Final = "crash"


def _client(base_url: str, api_key: str, seed: int, outcome: Outcome) -> None:
    stream_payments(
        base_url,
        api_key,
        seed,
        outcome,
        payments=PAYMENTS_PER_CLIENT,
        attempts_max=ATTEMPTS_PER_PAYMENT_MAX,
        key_prefix=KEY_PREFIX,
    )


def _storm(supervisor: Supervisor, names: tuple[str, ...], stop: threading.Event, seed: int) -> int:
    rng = random.Random(seed)
    kills = 0
    while kills < KILLS and not stop.is_set():
        time.sleep(rng.uniform(0.3, 1.2))
        name = rng.choice(names)
        if supervisor.state(name) is not ChildState.RUNNING:
            continue  # still coming back from the previous kill
        with contextlib.suppress(RuntimeError):
            supervisor.kill(name, signal.SIGKILL)
            kills += 1
    return kills


@pytest.mark.timeout(600)
def test_killed_services_lose_nothing_and_move_nothing_twice(engine_stack_factory: EngineFactory) -> None:
    engine = engine_stack_factory(
        restart_limits=RestartLimits(restarts_max=50, window_s=60, delay_s_initial=0.1)
    )
    outcome = Outcome()
    stop = threading.Event()
    clients = [
        threading.Thread(
            target=_client, args=(engine.base_url, engine.credentials.api_key, seed, outcome), daemon=True
        )
        for seed in range(CLIENTS)
    ]
    kills: list[int] = []
    storm = threading.Thread(
        target=lambda: kills.append(_storm(engine.supervisor, ("transactions", "accounts"), stop, 7)),
        daemon=True,
    )
    for thread in [*clients, storm]:
        thread.start()
    for thread in clients:
        thread.join(timeout=400)
    stop.set()
    storm.join(timeout=30)
    assert kills and kills[0] > 0
    assert outcome.accepted, "no payment got through at all"
    assert set(outcome.refused.values()) <= {"INSUFFICIENT_FUNDS"}, outcome.refused

    audit_payments(engine.database_url, outcome, key_prefix=KEY_PREFIX, settle_deadline_s=SETTLE_DEADLINE_S)
