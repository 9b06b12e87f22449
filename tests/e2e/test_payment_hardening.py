"""Payments that once never reached a final state, and tenancy that leaked through the
payment path: each case as it was found from the outside, through the gateway (and over
gRPC for the tenancy cases)."""

from __future__ import annotations

import concurrent.futures
import random
import signal
import time
from typing import Any, Final

import grpc
import httpx
import pytest
from payment_engine_protos.transactions.v1 import transactions_pb2 as pb
from payment_engine_protos.transactions.v1 import transactions_pb2_grpc

from tests.e2e.test_auth import assert_envelope
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import Tenant, decoded_error, new_tenant

POLL_DEADLINE_S: Final = 60.0
MAXIMUM_BALANCE: Final = 9_999_999_999_999.99
CANCELED_ACH_PAYMENTS: Final = 40


def _final(http: httpx.Client, transaction_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        status: dict[str, Any] = http.get(
            f"/api/v1/transactions/{transaction_id}/status", headers=headers
        ).json()
        if status["status"] in ("COMPLETED", "FAILED", "CANCELED"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{transaction_id} never reached a final state")


def _failed_event_arrives(http: httpx.Client, transaction_id: str) -> bool:
    """The payment's transaction.failed reaches the event log: the outbox relay publishes
    it after the commit that failed the payment, not inside it."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        events = http.get("/api/v1/events", params={"eventType": "transaction.failed"}).json()["events"]
        if transaction_id in {event["data"]["transactionId"] for event in events}:
            return True
        time.sleep(0.2)
    return False


def _account(http: httpx.Client, headers: dict[str, str], currency: str = "USD", fund: float = 0) -> str:
    created = http.post(
        "/api/v1/accounts", headers=headers, json={"name": f"{currency} account", "currencyCode": currency}
    )
    assert created.status_code == 201, created.text
    account_id: str = created.json()["id"]
    if fund:
        funded = http.post(
            f"/api/v1/sandbox/accounts/{account_id}:fund", headers=headers, json={"amount": fund}
        )
        assert funded.status_code == 200, funded.text
    return account_id


def _balances(http: httpx.Client, account_id: str) -> dict[str, Any]:
    balance: dict[str, Any] = http.get(f"/api/v1/accounts/{account_id}/balance").json()
    return balance


# 1. a claimed Idempotency-Key with no payment behind it


def test_a_create_cut_off_from_the_ledger_gets_a_definitive_answer_on_retry(
    engine_stack: EngineHandle, http: httpx.Client
) -> None:
    key = f"cut-off-{random.randrange(10**9)}"
    body = {
        "fromAccountId": "test_acc_001",
        "toAccountId": "test_acc_002",
        "paymentTypeId": "rtp",
        "amount": 3.21,
        "externalReference": key,
    }
    assert http.post("/api/v1/transactions", json={**body, "externalReference": "warm"}).status_code == 201
    supervisor = engine_stack.supervisor
    accounts_pid = supervisor.pid("accounts")
    supervisor.kill("accounts", signal.SIGKILL)
    first = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
    assert first.status_code in (201, 503), first.text
    supervisor.wait_ready("accounts", replacing_pid=accounts_pid)
    deadline = time.monotonic() + 30
    answer = first
    while answer.status_code != 201:
        assert time.monotonic() < deadline, f"no definitive answer for the key: {answer.text}"
        time.sleep(0.5)
        answer = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
        assert answer.status_code in (201, 409, 503), answer.text
    assert _final(http, answer.json()["id"])["status"] == "COMPLETED"
    again = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["id"] == answer.json()["id"]
    made = http.get("/api/v1/transactions", params={"externalReference": key}).json()["transactions"]
    assert [t["id"] for t in made] == [answer.json()["id"]], "one payment for the key, never two"


# 2. cancel racing the ACH batch window


def test_cancel_racing_the_ach_window_wins_or_says_it_lost(http: httpx.Client) -> None:
    created = [
        http.post(
            "/api/v1/transactions",
            json={
                "fromAccountId": "test_acc_001",
                "toAccountId": "test_acc_002",
                "paymentTypeId": "ACH_CREDIT",
                "amount": round(1.00 + number / 100, 2),
            },
        ).json()["id"]
        for number in range(CANCELED_ACH_PAYMENTS)
    ]

    def cancel_later(transaction_id: str) -> int:
        time.sleep(random.uniform(0, 6))
        with httpx.Client(base_url=str(http.base_url), headers=dict(http.headers), timeout=30) as client:
            return client.post(f"/api/v1/transactions/{transaction_id}:cancel", json={}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=CANCELED_ACH_PAYMENTS) as pool:
        answers = dict(zip(created, pool.map(cancel_later, created), strict=True))
    for transaction_id, answer in answers.items():
        final = _final(http, transaction_id)["status"]
        assert answer in (200, 400), answer
        # A cancel that answered 200 won: the payment ends CANCELED. One that lost says
        # so, and the payment completes.
        assert final == ("CANCELED" if answer == 200 else "COMPLETED"), (transaction_id, answer, final)


# 3. a payee that cannot receive


def test_funding_past_the_maximum_balance_is_refused(http: httpx.Client, engine_stack: EngineHandle) -> None:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    full = _account(http, headers, fund=MAXIMUM_BALANCE)
    refused = http.post(f"/api/v1/sandbox/accounts/{full}:fund", json={"amount": 1.00})
    assert_envelope(refused, 400, "INVALID_REQUEST")
    assert _balances(http, full)["currentBalance"] == MAXIMUM_BALANCE


def test_a_payment_into_a_full_account_is_refused_and_holds_nothing(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    full = _account(http, headers, fund=MAXIMUM_BALANCE)
    before = _balances(http, "test_acc_001")["availableBalance"]
    refused = http.post(
        "/api/v1/transactions",
        json={"fromAccountId": "test_acc_001", "toAccountId": full, "paymentTypeId": "rtp", "amount": 1.00},
    )
    error = assert_envelope(refused, 400, "INVALID_REQUEST")
    assert error["details"]["field"] == "toAccountId"
    assert _balances(http, "test_acc_001")["availableBalance"] == before


def test_a_payee_filled_before_settlement_fails_the_payment_and_releases_the_funds(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    payee = _account(http, headers)
    before = _balances(http, "test_acc_001")["availableBalance"]
    payment = http.post(
        "/api/v1/transactions",
        json={
            "fromAccountId": "test_acc_001",
            "toAccountId": payee,
            "paymentTypeId": "ACH_CREDIT",
            "amount": 1.00,
        },
    )
    assert payment.status_code == 201, payment.text
    funded = http.post(f"/api/v1/sandbox/accounts/{payee}:fund", json={"amount": MAXIMUM_BALANCE})
    assert funded.status_code == 200, funded.text
    final = _final(http, payment.json()["id"])
    assert final["status"] == "FAILED" and "cannot receive" in final["failureReason"]
    assert _balances(http, "test_acc_001")["availableBalance"] == before
    assert _failed_event_arrives(http, payment.json()["id"])


# 4 and 5. another tenant's accounts answer exactly as missing ones


@pytest.fixture(scope="module")
def tenants(engine_stack: EngineHandle, http: httpx.Client) -> dict[str, Any]:
    """Tenant A with a frozen USD account and a EUR account; tenant B with its own."""
    owner = new_tenant(engine_stack, "Tenancy owner")
    intruder = new_tenant(engine_stack, "Tenancy intruder")
    a = {"X-API-Key": owner.api_key}
    b = {"X-API-Key": intruder.api_key}
    frozen = _account(http, a, fund=50)
    assert http.post(f"/api/v1/accounts/{frozen}:freeze", headers=a, json={}).status_code == 200
    return {
        "owner": owner,
        "intruder": intruder,
        "a_active": _account(http, a, fund=50),
        "a_frozen": frozen,
        "a_eur": _account(http, a, currency="EUR", fund=50),
        "b_own": _account(http, b, fund=50),
    }


def _rest_payment(http: httpx.Client, tenant: Tenant, **fields: Any) -> httpx.Response:
    return http.post(
        "/api/v1/transactions", headers={"X-API-Key": tenant.api_key}, json={"amount": 1.00, **fields}
    )


def _grpc_payment(engine: EngineHandle, tenant: Tenant, **fields: Any) -> tuple[str, dict[str, Any]]:
    with grpc.insecure_channel(engine.grpc_addrs["transactions"]) as channel:
        stub = transactions_pb2_grpc.TransactionsServiceStub(channel)
        try:
            request = pb.CreateTransactionRequest(
                from_account_id=fields["fromAccountId"],
                to_account_id=fields["toAccountId"],
                payment_type_id=fields["paymentTypeId"],
                amount=1.00,
            )
            stub.CreateTransaction(request, metadata=tenant.metadata)
        except grpc.RpcError as error:
            decoded = decoded_error(error)
            return decoded.reason, decoded.details
    return "OK", {}


@pytest.mark.parametrize("target", ["a_active", "a_frozen", "a_eur", "missing"])
def test_a_pull_from_another_tenants_account_answers_as_missing(
    engine_stack: EngineHandle, http: httpx.Client, tenants: dict[str, Any], target: str
) -> None:
    source = tenants.get(target, "acc_doesnotexist")
    fields = {"fromAccountId": source, "toAccountId": tenants["b_own"], "paymentTypeId": "ACH_DEBIT"}
    error = assert_envelope(_rest_payment(http, tenants["intruder"], **fields), 404, "NOT_FOUND")
    assert error["message"] == "Account not found"
    assert error["details"] == {"field": "fromAccountId", "accountId": source}
    reason, details = _grpc_payment(engine_stack, tenants["intruder"], **fields)
    assert (reason, details) == ("NOT_FOUND", {"field": "fromAccountId", "accountId": source})


@pytest.mark.parametrize("target", ["a_active", "a_frozen", "a_eur", "missing"])
def test_a_push_into_another_tenants_account_answers_as_missing(
    engine_stack: EngineHandle, http: httpx.Client, tenants: dict[str, Any], target: str
) -> None:
    payee = tenants.get(target, "acc_doesnotexist")
    owner = {"X-API-Key": tenants["owner"].api_key}
    before = (
        http.get(f"/api/v1/accounts/{payee}/balance", headers=owner).json()["currentBalance"]
        if target == "a_active"
        else None
    )
    fields = {"fromAccountId": tenants["b_own"], "toAccountId": payee, "paymentTypeId": "rtp"}
    error = assert_envelope(_rest_payment(http, tenants["intruder"], **fields), 404, "NOT_FOUND")
    assert error["details"] == {"field": "toAccountId", "accountId": payee}
    reason, details = _grpc_payment(engine_stack, tenants["intruder"], **fields)
    assert (reason, details) == ("NOT_FOUND", {"field": "toAccountId", "accountId": payee})
    if before is not None:
        after = http.get(f"/api/v1/accounts/{payee}/balance", headers=owner).json()["currentBalance"]
        assert after == before, "another tenant's balance never moves"
