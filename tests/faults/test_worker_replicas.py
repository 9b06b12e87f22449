"""Two replicas of every worker against one database: the saga worker (rails, ACH
batches, settlement, recovery) and the outbox relays run in each transactions and
accounts process. Payments sent to both replicas must each complete exactly once:
one journal entry, one final event, holds agreeing with statuses, zero drift."""

from __future__ import annotations

import asyncio
import time
from typing import Final

import grpc
import psycopg
import pytest
from payment_engine_protos.transactions.v1 import transactions_pb2 as pb
from payment_engine_protos.transactions.v1 import transactions_pb2_grpc

from corelib.db import libpq_url
from tests.harness.engine import EngineFactory
from tests.harness.replicas import extra_replica
from tests.integration.accounts.test_ledger_model import reconcile_now

PAYMENTS_PER_REPLICA: Final = 30
READY_DEADLINE_S: Final = 30.0
SETTLE_DEADLINE_S: Final = 60.0


async def _pay_through(addr: str, api_key: str, prefix: str) -> list[str]:
    rails = ("RTP", "ACH_CREDIT", "WIRE_DOMESTIC", "ACH_DEBIT")
    async with grpc.aio.insecure_channel(addr) as channel:
        stub = transactions_pb2_grpc.TransactionsServiceStub(channel)
        created = await asyncio.gather(
            *(
                stub.CreateTransaction(
                    pb.CreateTransactionRequest(
                        from_account_id="test_acc_001",
                        to_account_id="test_acc_002",
                        payment_type_id=rails[number % len(rails)],
                        amount=round(1 + number / 100, 2),
                        external_reference=f"{prefix}-{number}",
                    ),
                    metadata=(("x-api-key", api_key),),
                )
                for number in range(PAYMENTS_PER_REPLICA)
            )
        )
    return [response.transaction.id for response in created]


@pytest.mark.timeout(300)
def test_two_replicas_of_every_worker_share_the_work(engine_stack_factory: EngineFactory) -> None:
    engine = engine_stack_factory()
    with extra_replica(engine, "accounts") as _, extra_replica(engine, "transactions") as second:
        first = engine.grpc_addrs["transactions"]
        key = engine.credentials.api_key

        async def both() -> list[list[str]]:
            return list(
                await asyncio.gather(_pay_through(first, key, "one"), _pay_through(second, key, "two"))
            )

        ids = [txn_id for batch in asyncio.run(both()) for txn_id in batch]
        url = libpq_url(engine.database_url)
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        with psycopg.connect(url, autocommit=True) as db:
            while True:
                row = db.execute(
                    "SELECT count(*) FROM transactions.transactions WHERE id = ANY(%s) "
                    "AND status NOT IN ('COMPLETED', 'FAILED')",
                    (ids,),
                ).fetchone()
                assert row is not None
                if row[0] == 0:
                    break
                assert time.monotonic() < deadline, f"{row[0]} payments unfinished"
                time.sleep(0.3)
            statuses: dict[str, str] = dict(
                db.execute(
                    "SELECT id, status FROM transactions.transactions WHERE id = ANY(%s)", (ids,)
                ).fetchall()
            )
            assert set(statuses.values()) == {"COMPLETED"}
            journals: dict[str, int] = dict(
                db.execute(
                    "SELECT transaction_id, count(*) FROM accounts.journal_entries "
                    "WHERE transaction_id = ANY(%s) GROUP BY transaction_id",
                    (ids,),
                ).fetchall()
            )
            assert journals == dict.fromkeys(ids, 1)
            # One completion event per payment reaches the webhooks service (its event
            # log is keyed by event id, so a payment finished twice would show twice).
            deadline = time.monotonic() + SETTLE_DEADLINE_S
            while True:
                events: dict[str, int] = dict(
                    db.execute(
                        "SELECT data->>'transactionId', count(*) FROM webhooks.events "
                        "WHERE event_type = 'transaction.completed' AND data->>'transactionId' = ANY(%s) "
                        "GROUP BY 1",
                        (ids,),
                    ).fetchall()
                )
                if len(events) == len(ids) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert events == dict.fromkeys(ids, 1)
            batches = db.execute("SELECT count(*) FROM transactions.ach_batches").fetchone()
            assert batches is not None and batches[0] >= 1
    report = reconcile_now(engine.database_url)
    assert report.clean, report
