"""Payments end to end through the gateway, as the guide's examples and test scenarios
make them: RTP completes within a second, ACH settles at its window, sandbox triggers
fail realistically, Idempotency-Key replays, and bad input gets the envelope."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import psycopg
import pytest

from corelib.db import libpq_url
from tests.e2e.test_auth import assert_envelope
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import new_tenant

POLL_DEADLINE_S = 15.0


def pay(http: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"fromAccountId": "test_acc_001", "toAccountId": "test_acc_002", "paymentTypeId": "rtp", **fields}
    return http.post("/api/v1/transactions", json=body)


def wait_final(http: httpx.Client, transaction_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        status: dict[str, Any] = http.get(f"/api/v1/transactions/{transaction_id}/status").json()
        if status["status"] in ("COMPLETED", "FAILED", "CANCELED"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{transaction_id} did not finish")


def balance(http: httpx.Client, account_id: str) -> float:
    value: float = http.get(f"/api/v1/accounts/{account_id}/balance").json()["availableBalance"]
    return value


def test_successful_payment_flow_of_the_guide(http: httpx.Client) -> None:
    created = pay(http, amount=100.00, description="Test payment")
    assert created.status_code == 201, created.text
    transaction = created.json()
    assert transaction["status"] == "PENDING" and transaction["id"].startswith("txn_")
    assert transaction["amount"] == 100.0 and transaction["paymentTypeId"] == "RTP"
    assert transaction["currencyCode"] == "USD" and transaction["description"] == "Test payment"
    time.sleep(1)
    status = http.get(f"/api/v1/transactions/{transaction['id']}/status").json()
    assert status["status"] == "COMPLETED"
    assert status["completedAt"]


def test_insufficient_funds_scenario_of_the_guide(http: httpx.Client) -> None:
    response = pay(http, fromAccountId="test_acc_empty", amount=1000.00, description="Test payment")
    error = assert_envelope(response, 422, "INSUFFICIENT_FUNDS")
    assert error["details"] == {
        "accountId": "test_acc_empty",
        "requestedAmount": 1000.0,
        "availableBalance": 0.0,
        "currencyCode": "USD",
    }


def test_money_moves_exactly_once(http: httpx.Client) -> None:
    payer_before, payee_before = balance(http, "test_acc_001"), balance(http, "test_acc_002")
    transaction = pay(http, amount=12.34).json()
    assert wait_final(http, transaction["id"])["status"] == "COMPLETED"
    assert round(balance(http, "test_acc_001") - payer_before, 2) == -12.34
    assert round(balance(http, "test_acc_002") - payee_before, 2) == 12.34


def test_ach_credit_batches_then_settles(http: httpx.Client) -> None:
    created = pay(http, paymentTypeId="ACH_CREDIT", amount=250.00, externalReference="order-77")
    assert created.status_code == 201
    transaction = created.json()
    assert transaction["status"] == "PENDING" and transaction["expectedSettlementAt"]
    assert wait_final(http, transaction["id"])["status"] == "COMPLETED"
    by_reference = http.get("/api/v1/transactions", params={"externalReference": "order-77"}).json()
    assert [t["id"] for t in by_reference["transactions"]] == [transaction["id"]]


@pytest.mark.parametrize(
    ("payment_type", "amount", "reason"),
    [
        ("ach_credit", 13.01, "R01"),
        ("ACH_CREDIT", 13.02, "R02"),
        ("wire_domestic", 21.01, "Wire rejected"),
        ("rtp", 31.01, "RTP rejected"),
    ],
)
def test_sandbox_failure_triggers(http: httpx.Client, payment_type: str, amount: float, reason: str) -> None:
    payer_before = balance(http, "test_acc_001")
    transaction = pay(http, paymentTypeId=payment_type, amount=amount).json()
    final = wait_final(http, transaction["id"])
    assert final["status"] == "FAILED" and reason in final["failureReason"]
    assert balance(http, "test_acc_001") == payer_before


def test_wire_with_the_guides_metadata(http: httpx.Client) -> None:
    response = pay(
        http,
        paymentTypeId="wire_domestic",
        amount=1000.00,
        currencyCode="USD",
        description="Invoice payment",
        metadata={"invoiceId": "INV-001", "customerId": "CUST-123", "items": [{"id": 1, "price": 9.99}]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["items"][0]["price"] == 9.99
    assert wait_final(http, response.json()["id"])["status"] == "COMPLETED"


def test_cancel_a_pending_ach_payment(http: httpx.Client) -> None:
    payer_before = balance(http, "test_acc_001")
    transaction = pay(http, paymentTypeId="ACH_CREDIT", amount=5.00).json()
    canceled = http.post(
        f"/api/v1/transactions/{transaction['id']}:cancel", json={"reason": "customer changed mind"}
    )
    assert canceled.status_code == 200, canceled.text
    final = wait_final(http, transaction["id"])
    assert final["status"] == "CANCELED"
    assert balance(http, "test_acc_001") == payer_before
    rtp = pay(http, amount=1.00).json()
    assert_envelope(http.post(f"/api/v1/transactions/{rtp['id']}:cancel", json={}), 400, "INVALID_REQUEST")


def test_idempotency_key_replays_the_first_response(http: httpx.Client) -> None:
    key = f"order-{time.time_ns()}"
    body = {
        "fromAccountId": "test_acc_001",
        "toAccountId": "test_acc_002",
        "paymentTypeId": "rtp",
        "amount": 7.77,
    }
    responses = [
        http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key}) for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert responses[0].content == responses[1].content == responses[2].content
    time.sleep(1)
    # Still the first answer (PENDING) after the payment completed, as a replay must be.
    late = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
    assert late.content == responses[0].content
    reused = http.post(
        "/api/v1/transactions",
        json={
            "fromAccountId": "test_acc_001",
            "toAccountId": "test_acc_002",
            "paymentTypeId": "rtp",
            "amount": 9.99,
        },
        headers={"Idempotency-Key": key},
    )
    assert_envelope(reused, 422, "IDEMPOTENCY_KEY_REUSED")


def test_a_key_repeated_while_its_answer_is_being_recorded_replays_the_answer(
    engine_stack: EngineHandle, http: httpx.Client
) -> None:
    """A real-time payment is answered as soon as the ledger has posted it, while its
    outcome is still being recorded. Here the recording is held up (its outbox is
    locked): a repeat of the key meanwhile gets the same answer, never "in use", and
    the outcome lands once the lock is gone."""
    body = {
        "fromAccountId": "test_acc_001",
        "toAccountId": "test_acc_002",
        "paymentTypeId": "rtp",
        "amount": 1.25,
    }
    key = f"held-up-{time.time_ns()}"
    with psycopg.connect(libpq_url(engine_stack.database_url)) as blocker:
        blocker.execute("LOCK TABLE transactions.outbox IN EXCLUSIVE MODE")
        first = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == 201, first.text
        repeat = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
        assert repeat.status_code == 201, repeat.text
        assert repeat.content == first.content
        blocker.rollback()
    assert wait_final(http, first.json()["id"])["status"] == "COMPLETED"
    late = http.post("/api/v1/transactions", json=body, headers={"Idempotency-Key": key})
    assert late.content == first.content


def test_concurrent_requests_with_one_key_create_one_payment(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    key = f"burst-{time.time_ns()}"
    reference = f"ref-{key}"
    body = {
        "fromAccountId": "test_acc_001",
        "toAccountId": "test_acc_002",
        "paymentTypeId": "rtp",
        "amount": 3.33,
        "externalReference": reference,
    }

    def send() -> int:
        with httpx.Client(base_url=engine_stack.base_url, timeout=30) as client:
            return client.post(
                "/api/v1/transactions",
                json=body,
                headers={"Idempotency-Key": key, "X-API-Key": engine_stack.credentials.api_key},
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: send(), range(8)))
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    listed = http.get("/api/v1/transactions", params={"externalReference": reference}).json()["transactions"]
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"amount": 537.2918340012}, 400, "INVALID_REQUEST", "amount"),
        ({"amount": 0}, 400, "INVALID_REQUEST", "amount"),
        ({"amount": -5}, 400, "INVALID_REQUEST", "amount"),
        ({"amount": 1e18}, 400, "INVALID_REQUEST", "amount"),
        ({"amount": 2_000_000}, 400, "INVALID_REQUEST", "amount"),
        ({}, 400, "INVALID_REQUEST", "amount"),
        ({"amount": 1, "paymentTypeId": "CARRIER_PIGEON"}, 400, "INVALID_REQUEST", "paymentTypeId"),
        ({"amount": 1, "toAccountId": "test_acc_001"}, 400, "INVALID_REQUEST", "toAccountId"),
        ({"amount": 1, "currencyCode": "EUR"}, 400, "INVALID_REQUEST", "fromAccountId"),
        ({"amount": 1, "currencyCode": "ZZZ"}, 400, "INVALID_REQUEST", "currencyCode"),
        ({"amount": 1, "toAccountId": "acc_doesnotexist"}, 404, "NOT_FOUND", "toAccountId"),
        ({"amount": 1, "fromAccountId": ""}, 400, "INVALID_REQUEST", "fromAccountId"),
    ],
)
def test_bad_payments_are_refused(
    http: httpx.Client, fields: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = {"fromAccountId": "test_acc_001", "toAccountId": "test_acc_002", "paymentTypeId": "rtp", **fields}
    if "amount" not in fields:
        body.pop("amount", None)
    error = assert_envelope(http.post("/api/v1/transactions", json=body), status, code)
    assert error["details"].get("field") == field, error


@pytest.mark.parametrize(
    "body",
    ['{"amount": "lots"}', '{"amount": 5,', '{"fromAccountId": ["x"]}', '{"surprise": 1}', "null"],
)
def test_malformed_payment_bodies(http: httpx.Client, body: str) -> None:
    response = http.post("/api/v1/transactions", content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400, "INVALID_REQUEST")


def test_tenants_see_only_their_payments(http: httpx.Client, engine_stack: EngineHandle) -> None:
    other = new_tenant(engine_stack, "Payments outsider")
    foreign = {"X-API-Key": other.api_key}
    transaction = pay(http, amount=2.00).json()
    assert_envelope(http.get(f"/api/v1/transactions/{transaction['id']}", headers=foreign), 404, "NOT_FOUND")
    assert_envelope(
        http.get(f"/api/v1/transactions/{transaction['id']}/status", headers=foreign), 404, "NOT_FOUND"
    )
    listed = http.get("/api/v1/transactions", headers=foreign).json()["transactions"]
    assert transaction["id"] not in {t["id"] for t in listed}
    stolen = http.post(
        "/api/v1/transactions",
        headers=foreign,
        json={
            "fromAccountId": "test_acc_001",
            "toAccountId": "test_acc_002",
            "paymentTypeId": "rtp",
            "amount": 1,
        },
    )
    assert_envelope(stolen, 404, "NOT_FOUND")


def test_payment_types_catalogue_is_cacheable(http: httpx.Client) -> None:
    response = http.get("/api/v1/payment-types")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    ids = {t["id"] for t in response.json()["paymentTypes"]}
    assert ids == {"RTP", "ACH_CREDIT", "ACH_DEBIT", "WIRE_DOMESTIC"}


def test_list_paginates(http: httpx.Client) -> None:
    reference = f"paging-{time.time_ns()}"
    created = {pay(http, amount=1.00, externalReference=reference).json()["id"] for _ in range(5)}
    seen: list[str] = []
    token = ""
    for _ in range(10):
        params: dict[str, str | int] = {"externalReference": reference, "pageSize": 2}
        if token:
            params["pageToken"] = token
        page = http.get("/api/v1/transactions", params=params).json()
        seen.extend(t["id"] for t in page["transactions"])
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert set(seen) == created and len(seen) == 5
    assert seen == sorted(seen, reverse=True)


def test_every_post_honours_the_idempotency_key(http: httpx.Client) -> None:
    key = f"account-{time.time_ns()}"
    body = {"name": "Idempotent", "currencyCode": "USD"}
    first = http.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": key})
    again = http.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    listed = http.get("/api/v1/accounts", params={"pageSize": 100}).json()["accounts"]
    assert [a["id"] for a in listed].count(first.json()["id"]) == 1
    other = http.post("/api/v1/accounts", json={**body, "name": "Other"}, headers={"Idempotency-Key": key})
    assert_envelope(other, 422, "IDEMPOTENCY_KEY_REUSED")
    # A refusal is replayed too, until the key expires.
    account_id = first.json()["id"]
    freeze_key = f"freeze-{key}"
    assert (
        http.post(
            f"/api/v1/accounts/{account_id}:freeze", json={}, headers={"Idempotency-Key": freeze_key}
        ).status_code
        == 200
    )
    replayed = http.post(
        f"/api/v1/accounts/{account_id}:freeze", json={}, headers={"Idempotency-Key": freeze_key}
    )
    assert replayed.status_code == 200 and replayed.json()["status"] == "FROZEN"
    fresh = http.post(f"/api/v1/accounts/{account_id}:freeze", json={})
    assert_envelope(fresh, 422, "INVALID_ACCOUNT_STATUS")


def test_api_key_secrets_are_never_replayed(http: httpx.Client) -> None:
    key = f"apikey-{time.time_ns()}"
    body = {"name": "twice", "scopes": ["account:read"]}
    first = http.post("/api/v1/api-keys", json=body, headers={"Idempotency-Key": key}).json()
    second = http.post("/api/v1/api-keys", json=body, headers={"Idempotency-Key": key}).json()
    assert first["secret"] != second["secret"]


def test_a_payment_keeps_the_request_id_that_created_it(http: httpx.Client) -> None:
    created = http.post(
        "/api/v1/transactions",
        json={
            "fromAccountId": "test_acc_001",
            "toAccountId": "test_acc_002",
            "paymentTypeId": "rtp",
            "amount": 1.07,
        },
        headers={"X-Request-Id": "req-checkout-4711"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["requestId"] == "req-checkout-4711"
    fetched = http.get(f"/api/v1/transactions/{created.json()['id']}").json()
    assert fetched["requestId"] == "req-checkout-4711"
