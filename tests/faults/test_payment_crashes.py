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
from dataclasses import dataclass, field
from typing import Final

import httpx
import psycopg
import pytest

from corelib.db import libpq_url
from launcher.backoff import RestartLimits
from launcher.supervisor import ChildState, Supervisor
from tests.harness.engine import EngineFactory
from tests.integration.accounts.test_ledger_model import reconcile_now

CLIENTS: Final = 6
PAYMENTS_PER_CLIENT: Final = 25
KILLS: Final = 6
ATTEMPTS_PER_PAYMENT_MAX: Final = 40
# The longest any payment may need to become final after the storm: the create lease
# (30 s) plus a step lease and some slack for restarts.
SETTLE_DEADLINE_S: Final = 90.0
RAILS: Final = ("rtp", "rtp", "rtp", "ach_credit", "wire_domestic")
FINAL: Final = ("COMPLETED", "FAILED", "CANCELED")


@dataclass
class Outcome:
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key → transaction id
    refused: dict[str, str] = field(default_factory=dict)  # key → error code
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base_url: str, api_key: str, seed: int, outcome: Outcome) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=10) as http:
        for number in range(PAYMENTS_PER_CLIENT):
            key = f"crash-{seed}-{number}"
            body = {
                "fromAccountId": "test_acc_001",
                "toAccountId": "test_acc_002",
                "paymentTypeId": rng.choice(RAILS),
                "amount": rng.randint(1, 50_000) / 100,
                "externalReference": key,
            }
            # What a careful integrator does: retry 5xx, 409 and network errors with the same key.
            for _ in range(ATTEMPTS_PER_PAYMENT_MAX):
                try:
                    response = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                if response.status_code == 201:
                    with outcome.lock:
                        outcome.accepted[key] = response.json()["id"]
                    break
                if response.status_code in (409, 500, 502, 503, 504):
                    time.sleep(0.2)
                    continue
                with outcome.lock:
                    outcome.refused[key] = response.json()["error"]["code"]
                break


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

    url = libpq_url(engine.database_url)
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    with psycopg.connect(url, autocommit=True) as db:
        while True:
            unfinished = db.execute(
                "SELECT count(*) FROM transactions.transactions "
                "WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELED', 'REJECTED')"
            ).fetchone()
            assert unfinished is not None
            if unfinished[0] == 0:
                break
            assert time.monotonic() < deadline, f"{unfinished[0]} payments still unfinished"
            time.sleep(0.5)

        rows = db.execute(
            "SELECT t.external_reference, t.id, t.status, h.status, t.amount_minor, h.amount_minor "
            "FROM transactions.transactions t LEFT JOIN accounts.holds h ON h.id = t.id "
            "WHERE t.external_reference LIKE 'crash-%'"
        ).fetchall()
        by_key: dict[str, list[tuple[str, str, str | None]]] = {}
        for reference, txn_id, status, hold_status, amount, hold_amount in rows:
            by_key.setdefault(reference, []).append((txn_id, status, hold_status))
            # The payment's final state agrees with the ledger.
            expected_hold = {"COMPLETED": "POSTED", "FAILED": "VOIDED", "CANCELED": "VOIDED"}.get(status)
            if expected_hold is not None:
                assert hold_status == expected_hold and hold_amount == amount, (txn_id, status, hold_status)
            else:
                assert status == "REJECTED" and hold_status in (None, "VOIDED"), (txn_id, status, hold_status)
        for key, txn_id in outcome.accepted.items():
            effective = [entry for entry in by_key[key] if entry[1] != "REJECTED"]
            # Exactly one payment per accepted key, and it is the one the client was told about.
            assert [entry[0] for entry in effective] == [txn_id], (key, by_key[key])
            assert effective[0][1] in FINAL
        for key, entries in by_key.items():
            assert len([e for e in entries if e[1] != "REJECTED"]) <= 1, (key, entries)
        held = db.execute("SELECT count(*) FROM accounts.holds WHERE status = 'HELD'").fetchone()
        assert held is not None and held[0] == 0
    report = reconcile_now(engine.database_url)
    assert report.clean, report
