"""Webhooks end to end through the gateway: an integrator registers an endpoint over
REST, makes a payment, and receives its events signed (checked with the guide's Python
function as written) and in full; reconciles through /api/v1/events; reads the delivery
log. Bad URLs get the guide's envelope, and another tenant sees nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.auth import provisioning
from services.auth.scopes import ALL_SCOPES
from tests.e2e.test_auth import assert_envelope
from tests.harness.engine import EngineHandle
from tests.integration.webhooks.receivers import Receiver, guide_python_verifier

EVENTS_DEADLINE_S = 20.0


async def tenant_client(engine: EngineHandle, name: str) -> httpx.AsyncClient:
    tenant_id = await provisioning.create_tenant(engine.database_url, name)
    _, api_key = await provisioning.create_api_key(
        engine.database_url, tenant_id, name, list(ALL_SCOPES), None
    )
    return httpx.AsyncClient(base_url=engine.base_url, headers={"X-API-Key": api_key}, timeout=30)


@pytest.fixture
async def http(engine_stack: EngineHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with await tenant_client(engine_stack, f"Webhooks e2e {time.time_ns()}") as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


async def open_funded_accounts(http: httpx.AsyncClient) -> tuple[str, str]:
    payer = (await http.post("/api/v1/accounts", json={"name": "Payer", "currencyCode": "USD"})).json()["id"]
    payee = (await http.post("/api/v1/accounts", json={"name": "Payee", "currencyCode": "USD"})).json()["id"]
    funded = await http.post(f"/api/v1/sandbox/accounts/{payer}:fund", json={"amount": 500.00})
    assert funded.status_code == 200, funded.text
    return payer, payee


async def test_a_payments_events_arrive_signed_and_in_full(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = await http.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url, "description": "orders service"}
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["id"].startswith("whe_") and endpoint["secret"].startswith("whsec_")
    assert endpoint["status"] == "WEBHOOK_ENDPOINT_STATUS_ENABLED"
    receiver.verifier = guide_python_verifier(endpoint["secret"])
    payer, payee = await open_funded_accounts(http)
    # Events of the funding arrive too; the payment's are the ones checked.
    paid = await http.post(
        "/api/v1/transactions",
        json={
            "fromAccountId": payer,
            "toAccountId": payee,
            "paymentTypeId": "rtp",
            "amount": 100.00,
            "description": "Invoice payment",
            "externalReference": "ORDER-9001",
        },
    )
    assert paid.status_code == 201, paid.text
    transaction_id = paid.json()["id"]

    def of_payment(received: list[Any]) -> dict[str, dict[str, Any]]:
        found = {}
        for r in received:
            body = r.event
            if body["data"].get("transactionId") == transaction_id and body["eventType"].startswith(
                "transaction."
            ):
                found[body["eventType"]] = body
        return found

    await receiver.wait_for(
        lambda r: {"transaction.created", "transaction.completed"} <= set(of_payment(r)),
        timeout_s=EVENTS_DEADLINE_S,
    )
    await receiver.wait_for(
        lambda r: (
            {payer, payee}
            <= {
                x.event["data"].get("accountId")
                for x in r
                if x.event["eventType"] == "account.balance.updated"
            }
        ),
        timeout_s=EVENTS_DEADLINE_S,
    )
    assert all(r.verified for r in receiver.received)
    events = of_payment(receiver.received)
    completed = events["transaction.completed"]
    assert set(completed) == {"eventId", "eventType", "createdAt", "data"}
    data = completed["data"]
    assert data["transactionId"] == transaction_id
    assert data["transactionReference"] == "ORDER-9001"
    assert data["amount"] == 100.0 and data["currencyCode"] == "USD"
    assert data["status"] == "COMPLETED" and data["failureReason"] == ""
    payee_balance = next(
        r.event["data"]
        for r in reversed(receiver.received)
        if r.event["eventType"] == "account.balance.updated" and r.event["data"]["accountId"] == payee
    )
    assert {"availableBalance", "currentBalance", "currencyCode", "cause"} <= set(payee_balance)
    assert payee_balance["currentBalance"] == 100.0
    # Created as PENDING; the ledger placed and posted it in one step, so each account
    # sees the payment once, with no separate hold event.
    assert events["transaction.created"]["data"]["status"] == "PENDING"
    await receiver.wait_for(
        lambda r: len(_balance_causes(r, transaction_id)) == 2, timeout_s=EVENTS_DEADLINE_S
    )
    assert _balance_causes(receiver.received, transaction_id) == {
        (payer, "payment_sent"),
        (payee, "payment_received"),
    }

    # Reconciliation: the same event, the same names, through /api/v1/events.
    listed = (await http.get("/api/v1/events", params={"eventType": "transaction.completed"})).json()
    assert completed["eventId"] in [e["eventId"] for e in listed["events"]]
    fetched = (await http.get(f"/api/v1/events/{completed['eventId']}")).json()
    assert {k: fetched[k] for k in ("eventId", "eventType", "createdAt", "data")} == completed
    log = (await http.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()
    delivered = next(d for d in log["deliveries"] if d["eventId"] == completed["eventId"])
    assert delivered["status"] == "WEBHOOK_DELIVERY_STATUS_SUCCEEDED"
    assert delivered["attempts"][0]["statusCode"] == 200


async def test_redeliver_and_test_send_over_rest(http: httpx.AsyncClient, receiver: Receiver) -> None:
    endpoint = (await http.post("/api/v1/webhook-endpoints", json={"url": receiver.url})).json()
    receiver.verifier = guide_python_verifier(endpoint["secret"])
    tested = await http.post(f"/api/v1/webhook-endpoints/{endpoint['id']}:test", json={})
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["event"]["eventType"] == "webhook.test"
    assert answer["delivery"]["attempts"][0]["statusCode"] == 200
    redelivered = await http.post(f"/api/v1/events/{answer['event']['eventId']}:redeliver", json={})
    assert redelivered.status_code == 200, redelivered.text
    await receiver.wait_count(2, timeout_s=EVENTS_DEADLINE_S)
    assert [r.event["eventId"] for r in receiver.received] == [answer["event"]["eventId"]] * 2
    assert all(r.verified for r in receiver.received)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "http://", "not a url"])
async def test_bad_urls_get_the_guides_envelope(http: httpx.AsyncClient, url: str) -> None:
    response = await http.post("/api/v1/webhook-endpoints", json={"url": url})
    error = assert_envelope(response, 400, "INVALID_REQUEST")
    assert error["details"]["field"] == "url"


async def test_another_tenant_sees_none_of_it(
    engine_stack: EngineHandle, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    endpoint = (await http.post("/api/v1/webhook-endpoints", json={"url": receiver.url})).json()
    event_id = (await http.post(f"/api/v1/webhook-endpoints/{endpoint['id']}:test", json={})).json()["event"][
        "eventId"
    ]
    async with await tenant_client(engine_stack, f"Intruder {time.time_ns()}") as intruder:
        for path in (
            f"/api/v1/webhook-endpoints/{endpoint['id']}",
            f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
            f"/api/v1/events/{event_id}",
        ):
            assert_envelope(await intruder.get(path), 404, "NOT_FOUND")
        assert_envelope(
            await intruder.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}"), 404, "NOT_FOUND"
        )
        assert (await intruder.get("/api/v1/events")).json().get("events", []) == []
        assert (await intruder.get("/api/v1/webhook-endpoints")).json().get("endpoints", []) == []


async def test_update_rotate_enable_and_delete_over_rest(http: httpx.AsyncClient) -> None:
    created = (
        await http.post(
            "/api/v1/webhook-endpoints",
            json={
                "url": "http://localhost:3000/a",
                "eventTypes": ["transaction.completed"],
                "description": "a",
            },
        )
    ).json()
    path = f"/api/v1/webhook-endpoints/{created['id']}"
    patched = await http.patch(
        path,
        params={"updateMask": "url,eventTypes"},
        json={"url": "http://localhost:3001/b", "eventTypes": []},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["url"] == "http://localhost:3001/b" and body.get("eventTypes", []) == []
    assert body["description"] == "a" and body.get("secret", "") == ""
    rotated = (await http.post(f"{path}:rotateSecret", json={"overlapSeconds": 600})).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previousSecretExpiresAt"]
    disabled = await http.post(f"{path}:disable", json={"reason": "maintenance"})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "WEBHOOK_ENDPOINT_STATUS_DISABLED"
    assert disabled.json()["disabledReason"] == "maintenance"
    enabled = (await http.post(f"{path}:enable", json={})).json()
    assert enabled["status"] == "WEBHOOK_ENDPOINT_STATUS_ENABLED"
    deleted = await http.delete(path)
    assert deleted.status_code == 200 and deleted.json() == {"id": created["id"], "deleted": True}
    assert_envelope(await http.get(path), 404, "NOT_FOUND")


def _balance_causes(received: list[Any], transaction_id: str) -> set[tuple[str, str]]:
    return {
        (r.event["data"]["accountId"], r.event["data"]["cause"])
        for r in received
        if r.event["eventType"] == "account.balance.updated"
        and r.event["data"].get("transactionId") == transaction_id
    }
