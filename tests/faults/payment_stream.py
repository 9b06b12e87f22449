"""What the fault tests share: clients that stream payments through the gateway and
retry the way a careful integrator does (same Idempotency-Key, same body), and the audit
that follows the storm — every payment final, none twice, holds agreeing with statuses
and none without its payment, the ledger reconciling to zero drift."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httpx
import psycopg

from corelib.db import libpq_url
from tests.integration.accounts.test_ledger_model import reconcile_now

RAILS: Final = ("rtp", "rtp", "rtp", "ach_credit", "wire_domestic")
FINAL: Final = ("COMPLETED", "FAILED", "CANCELED")
RETRYABLE_STATUSES: Final = (409, 500, 502, 503, 504)
RETRY_PAUSE_S: Final = 0.2
REQUEST_TIMEOUT_S: Final = 10.0
CLIENT_JOIN_TIMEOUT_S: Final = 600.0


@dataclass
class Outcome:
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key → transaction id
    refused: dict[str, str] = field(default_factory=dict)  # key → error code
    # Keys whose every attempt failed: the client never learnt what became of its payment.
    unanswered: list[str] = field(default_factory=list)
    # Every non-definitive answer seen on the way (status or exception name → count).
    transient: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, what: str) -> None:
        with self.lock:
            self.transient[what] = self.transient.get(what, 0) + 1


def stream_payments(
    base_url: str,
    api_key: str,
    seed: int,
    outcome: Outcome,
    *,
    payments: int,
    attempts_max: int,
    key_prefix: str,
) -> None:
    """`payments` payments, each retried on 5xx, 409 and network errors with the same key
    and body, up to `attempts_max` attempts."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=REQUEST_TIMEOUT_S) as http:
        for number in range(payments):
            key = f"{key_prefix}-{seed}-{number}"
            body = {
                "fromAccountId": "test_acc_001",
                "toAccountId": "test_acc_002",
                "paymentTypeId": rng.choice(RAILS),
                "amount": rng.randint(1, 50_000) / 100,
                "externalReference": key,
            }
            for _ in range(attempts_max):
                try:
                    response = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError as error:
                    outcome.saw(type(error).__name__)
                    time.sleep(RETRY_PAUSE_S)
                    continue
                if response.status_code == 201:
                    with outcome.lock:
                        outcome.accepted[key] = response.json()["id"]
                    break
                if response.status_code in RETRYABLE_STATUSES:
                    outcome.saw(str(response.status_code))
                    time.sleep(RETRY_PAUSE_S)
                    continue
                with outcome.lock:
                    outcome.refused[key] = response.json()["error"]["code"]
                break
            else:
                with outcome.lock:
                    outcome.unanswered.append(key)


@dataclass(frozen=True)
class Stream:
    """Clients streaming payments through the gateway, each its own `payments` with keys
    `<key_prefix>-<client>-<n>`."""

    base_url: str
    api_key: str
    clients: int
    payments: int
    attempts_max: int
    key_prefix: str


def stream_during(
    stream: Stream, disturbance: Callable[[], None], *, disturbance_timeout_s: float
) -> Outcome:
    """Runs the clients and the disturbance side by side until both are done (each join
    bounded); the disturbance's own failure is raised here, in the test's thread. Then
    checks that every payment got a definitive answer through retries with its key."""
    outcome = Outcome()
    failures: list[BaseException] = []

    def disturb() -> None:
        try:
            disturbance()
        except BaseException as error:  # reported by the test's own thread
            failures.append(error)

    clients = [
        threading.Thread(
            target=stream_payments,
            args=(stream.base_url, stream.api_key, seed, outcome),
            kwargs={
                "payments": stream.payments,
                "attempts_max": stream.attempts_max,
                "key_prefix": stream.key_prefix,
            },
            daemon=True,
        )
        for seed in range(stream.clients)
    ]
    disturber = threading.Thread(target=disturb, daemon=True)
    for thread in [*clients, disturber]:
        thread.start()
    disturber.join(timeout=disturbance_timeout_s)
    for thread in clients:
        thread.join(timeout=CLIENT_JOIN_TIMEOUT_S)
    assert not failures, failures
    assert not disturber.is_alive(), "the disturbance did not finish"
    assert not outcome.unanswered, outcome.unanswered
    assert len(outcome.accepted) + len(outcome.refused) == stream.clients * stream.payments
    assert set(outcome.refused.values()) <= {"INSUFFICIENT_FUNDS"}, outcome.refused
    assert outcome.accepted, "no payment got through at all"
    return outcome


def audit_payments(database_url: str, outcome: Outcome, *, key_prefix: str, settle_deadline_s: float) -> None:
    """Waits (bounded) for every payment to be final, then checks the books."""
    url = libpq_url(database_url)
    deadline = time.monotonic() + settle_deadline_s
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
            "WHERE t.external_reference LIKE %s",
            (f"{key_prefix}-%",),
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
        # Every hold is a payment's (its id is the payment's): none outlived a lost record.
        orphans = db.execute(
            "SELECT h.id, h.status FROM accounts.holds h "
            "WHERE NOT EXISTS (SELECT 1 FROM transactions.transactions t WHERE t.id = h.id)"
        ).fetchall()
        assert orphans == [], orphans
    report = reconcile_now(database_url)
    assert report.clean, report
