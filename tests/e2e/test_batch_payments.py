"""POST /api/v1/transactions:batch through the gateway: a result per payment, all or
none with `atomic`, idempotent per item (the same keys as single creates) and per
request (the Idempotency-Key header replays the whole answer)."""

from __future__ import annotations

import random
import time
from typing import Any, Final

import httpx
import pytest

from tests.e2e.test_auth import assert_envelope

POLL_DEADLINE_S: Final = 60.0


def _item(**fields: Any) -> dict[str, Any]:
    return {"fromAccountId": "test_acc_001", "toAccountId": "test_acc_002", "paymentTypeId": "rtp", **fields}


def _available(http: httpx.Client, account_id: str) -> float:
    value: float = http.get(f"/api/v1/accounts/{account_id}/balance").json()["availableBalance"]
    return value


def _completed(http: httpx.Client, transaction_id: str) -> str:
    deadline = time.monotonic() + POLL_DEADLINE_S
    while time.monotonic() < deadline:
        status: str = http.get(f"/api/v1/transactions/{transaction_id}/status").json()["status"]
        if status in ("COMPLETED", "FAILED", "CANCELED"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{transaction_id} did not finish")


def test_each_payment_of_a_batch_gets_its_own_result(http: httpx.Client) -> None:
    answer = http.post(
        "/api/v1/transactions:batch",
        json={
            "transactions": [
                _item(amount=1.25, description="first"),
                _item(fromAccountId="test_acc_empty", amount=5.00),
                _item(amount=0.001),
                _item(amount=2.50, paymentTypeId="ACH_CREDIT"),
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3]
    assert [r["status"] for r in body["results"]] == [201, 422, 400, 201]
    assert body["succeededCount"] == 2 and body["failedCount"] == 2
    assert body["results"][1]["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert body["results"][2]["error"]["details"]["field"] == "amount"
    first = body["results"][0]["transaction"]
    assert first["status"] == "PENDING" and first["amount"] == 1.25 and first["description"] == "first"
    assert _completed(http, first["id"]) == "COMPLETED"


def test_an_atomic_batch_creates_all_or_none(http: httpx.Client) -> None:
    before = _available(http, "test_acc_001")
    refused = http.post(
        "/api/v1/transactions:batch",
        json={
            "atomic": True,
            "transactions": [
                _item(amount=1.00),
                _item(fromAccountId="test_acc_empty", amount=5.00),
                _item(amount=2.00),
            ],
        },
    )
    assert refused.status_code == 200, refused.text
    results = refused.json()["results"]
    assert [r["error"]["code"] for r in results] == ["BATCH_ABORTED", "INSUFFICIENT_FUNDS", "BATCH_ABORTED"]
    assert [r["status"] for r in results] == [424, 422, 424]
    assert refused.json()["succeededCount"] == 0
    assert _available(http, "test_acc_001") == before, "an aborted batch holds nothing"
    accepted = http.post(
        "/api/v1/transactions:batch",
        json={"atomic": True, "transactions": [_item(amount=1.00), _item(amount=2.00)]},
    )
    assert [r["status"] for r in accepted.json()["results"]] == [201, 201]
    for result in accepted.json()["results"]:
        assert _completed(http, result["transaction"]["id"]) == "COMPLETED"


def test_an_aborted_atomic_batch_can_be_sent_again_with_the_same_item_keys(http: httpx.Client) -> None:
    key = f"atomic-{random.randrange(10**9)}"
    items = [
        _item(amount=1.00, idempotencyKey=f"{key}-a"),
        _item(fromAccountId="test_acc_empty", amount=5.00, idempotencyKey=f"{key}-b"),
    ]
    aborted = http.post("/api/v1/transactions:batch", json={"atomic": True, "transactions": items})
    assert [r["status"] for r in aborted.json()["results"]] == [424, 422]
    fixed = [items[0], _item(amount=3.00, idempotencyKey=f"{key}-c")]
    again = http.post("/api/v1/transactions:batch", json={"atomic": True, "transactions": fixed})
    assert [r["status"] for r in again.json()["results"]] == [201, 201], again.text


def test_an_item_key_is_the_same_key_as_a_single_creates(http: httpx.Client) -> None:
    key = f"shared-{random.randrange(10**9)}"
    alone = http.post("/api/v1/transactions", json=_item(amount=4.20), headers={"Idempotency-Key": key})
    assert alone.status_code == 201, alone.text
    batch = http.post(
        "/api/v1/transactions:batch", json={"transactions": [_item(amount=4.20, idempotencyKey=key)]}
    )
    assert batch.json()["results"][0]["transaction"] == alone.json(), (
        "the batch replays the payment made alone"
    )
    other = http.post(
        "/api/v1/transactions:batch", json={"transactions": [_item(amount=9.99, idempotencyKey=key)]}
    )
    assert other.json()["results"][0]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    later = f"later-{random.randrange(10**9)}"
    made = http.post(
        "/api/v1/transactions:batch", json={"transactions": [_item(amount=1.10, idempotencyKey=later)]}
    )
    single = http.post("/api/v1/transactions", json=_item(amount=1.10), headers={"Idempotency-Key": later})
    assert single.status_code == 201 and single.json()["id"] == made.json()["results"][0]["transaction"]["id"]


def test_the_requests_key_replays_the_whole_answer(http: httpx.Client) -> None:
    key = f"batch-{random.randrange(10**9)}"
    body = {"transactions": [_item(amount=1.11), _item(fromAccountId="test_acc_empty", amount=1.00)]}
    first = http.post("/api/v1/transactions:batch", json=body, headers={"Idempotency-Key": key})
    again = http.post("/api/v1/transactions:batch", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    changed = http.post(
        "/api/v1/transactions:batch",
        json={"transactions": [_item(amount=9.99)]},
        headers={"Idempotency-Key": key},
    )
    assert_envelope(changed, 422, "IDEMPOTENCY_KEY_REUSED")


def test_the_same_key_twice_in_one_batch_makes_one_payment(http: httpx.Client) -> None:
    key = f"twice-{random.randrange(10**9)}"
    item = _item(amount=1.05, idempotencyKey=key)
    answer = http.post("/api/v1/transactions:batch", json={"transactions": [item, item]}).json()
    ids = {result["transaction"]["id"] for result in answer["results"]}
    assert len(ids) == 1 and answer["succeededCount"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"transactions": []}, "transactions"),
        ({"transactions": [_item(amount=1.00)] * 1001}, "transactions"),
        ({"transactions": "many"}, "transactions"),
    ],
)
def test_a_malformed_batch_is_refused_whole(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    error = assert_envelope(http.post("/api/v1/transactions:batch", json=body), 400, "INVALID_REQUEST")
    assert error["details"].get("field") == field


def test_a_large_batch_completes_every_payment(http: httpx.Client) -> None:
    reference = f"large-{random.randrange(10**9)}"
    items = [_item(amount=0.01, externalReference=reference) for _ in range(1000)]
    answer = http.post("/api/v1/transactions:batch", json={"transactions": items})
    assert answer.status_code == 200, answer.text
    assert answer.json()["succeededCount"] == 1000
    deadline = time.monotonic() + POLL_DEADLINE_S
    while True:
        listed = http.get(
            "/api/v1/transactions",
            params={"externalReference": reference, "status": "COMPLETED", "pageSize": 100},
        ).json()
        if len(listed["transactions"]) == 100 and listed.get("nextPageToken"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.5)
