"""An Idempotency-Key repeated on another replica of the transactions service while the
first replica is still recording the first answer: the repeat waits for that answer and
replays it, rather than answering "in use". Two real transactions processes on one
database; the first one's recording is held up by a lock on its outbox."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from typing import Final

import grpc
import httpx
import psycopg
import pytest
from payment_engine_protos.transactions.v1 import transactions_pb2, transactions_pb2_grpc

from corelib.db import libpq_url
from tests.e2e.test_payments import wait_final
from tests.harness.engine import EngineHandle
from tests.harness.replicas import extra_replica

CALL_TIMEOUT_S: Final = 10.0
# Long enough for the second replica to have looked at least once while the first
# answer was still unrecorded; short against the second replica's patience (1 s).
HELD_UP_S: Final = 0.15


@pytest.fixture(scope="module")
def second_replica(engine_stack: EngineHandle) -> Iterator[str]:
    with extra_replica(engine_stack, "transactions") as addr:
        yield addr


def _create(addr: str, request: transactions_pb2.CreateTransactionRequest, key: str, api_key: str) -> bytes:
    with grpc.insecure_channel(addr) as channel:
        response = transactions_pb2_grpc.TransactionsServiceStub(channel).CreateTransaction(
            request,
            metadata=(("x-api-key", api_key), ("idempotency-key", key)),
            timeout=CALL_TIMEOUT_S,
        )
    return response.SerializeToString(deterministic=True)


def test_a_key_repeated_on_another_replica_replays_the_first_answer_once_recorded(
    engine_stack: EngineHandle, second_replica: str, http: httpx.Client
) -> None:
    api_key = engine_stack.credentials.api_key
    first_replica = engine_stack.grpc_addrs["transactions"]
    request = transactions_pb2.CreateTransactionRequest(
        from_account_id="test_acc_001", to_account_id="test_acc_002", payment_type_id="rtp", amount=1.75
    )
    key = f"other-replica-{time.time_ns()}"
    with psycopg.connect(libpq_url(engine_stack.database_url)) as blocker:
        blocker.execute("LOCK TABLE transactions.outbox IN EXCLUSIVE MODE")
        first = _create(first_replica, request, key, api_key)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            repeat = pool.submit(_create, second_replica, request, key, api_key)
            time.sleep(HELD_UP_S)
            assert not repeat.done(), "the repeat was answered while the first answer was unrecorded"
            blocker.rollback()
            assert repeat.result(timeout=CALL_TIMEOUT_S) == first
    created = transactions_pb2.CreateTransactionResponse.FromString(first).transaction
    assert wait_final(http, created.id)["status"] == "COMPLETED"
    # The key made one payment: a repeat on either replica now replays it at once.
    assert _create(second_replica, request, key, api_key) == first
    assert _create(first_replica, request, key, api_key) == first


def test_a_first_answer_left_unrecorded_past_the_wait_is_in_use_on_another_replica(
    engine_stack: EngineHandle, second_replica: str
) -> None:
    """The repeat's wait is bounded: while the first answer stays unrecorded past it, the
    other replica answers "in use" (409 at the edge), which is safe to retry."""
    api_key = engine_stack.credentials.api_key
    request = transactions_pb2.CreateTransactionRequest(
        from_account_id="test_acc_001", to_account_id="test_acc_002", payment_type_id="rtp", amount=1.5
    )
    key = f"unrecorded-{time.time_ns()}"
    with psycopg.connect(libpq_url(engine_stack.database_url)) as blocker:
        blocker.execute("LOCK TABLE transactions.outbox IN EXCLUSIVE MODE")
        first = _create(engine_stack.grpc_addrs["transactions"], request, key, api_key)
        with pytest.raises(grpc.RpcError) as refused:
            _create(second_replica, request, key, api_key)
        blocker.rollback()
    assert refused.value.code() == grpc.StatusCode.ABORTED
    assert "still being processed" in (refused.value.details() or "")
    # Once recorded, the same repeat replays the first answer.
    assert _create(second_replica, request, key, api_key) == first
