"""Each resource calls the engine's route with the engine's JSON, and reads the answer
into snake_case models."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from engine_double import (
    EngineDouble,
    FakeClock,
    Sleeps,
    json_response,
    make_async_client,
    make_client,
    run,
    status_json,
    transaction_json,
)

from payment_engine import CreateTransactionRequest, PaymentEngineClient, WaitTimeoutError

TXN = "/api/v1/transactions"
STATUS = "/api/v1/transactions/txn_1/status"


def test_create_takes_the_guides_request_object() -> None:
    engine = EngineDouble().on(
        "POST", TXN, json_response(201, transaction_json(paymentTypeId="WIRE_DOMESTIC"))
    )
    client = make_client(engine)

    request = CreateTransactionRequest(
        from_account_id="acc_123",
        to_account_id="acc_456",
        payment_type_id="wire_domestic",
        amount=1000.00,
        currency_code="USD",
        description="Invoice payment",
        metadata={"invoice_id": "INV-001", "customer_id": "CUST-123"},
    )
    transaction = client.transactions.create(request)

    assert transaction.id == "txn_1"
    sent = engine.requests[0]
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json == {
        "fromAccountId": "acc_123",
        "toAccountId": "acc_456",
        "paymentTypeId": "wire_domestic",
        "amount": Decimal("1000.0"),
        "currencyCode": "USD",
        "description": "Invoice payment",
        "metadata": {"invoice_id": "INV-001", "customer_id": "CUST-123"},
    }


def test_create_takes_keyword_arguments_too() -> None:
    engine = EngineDouble().on("POST", TXN, json_response(201, transaction_json()))
    client = make_client(engine)

    client.transactions.create(
        from_account_id="acc_123",
        to_account_id="acc_456",
        payment_type_id="ACH_CREDIT",
        amount=Decimal("25.00"),
        external_reference="order-7",
    )

    assert engine.requests[0].json == {
        "fromAccountId": "acc_123",
        "toAccountId": "acc_456",
        "paymentTypeId": "ACH_CREDIT",
        "amount": Decimal("25.00"),
        "externalReference": "order-7",
    }


def test_create_refuses_a_request_and_keywords_together_or_missing_fields() -> None:
    client = make_client(EngineDouble())
    request = CreateTransactionRequest(
        from_account_id="a", to_account_id="b", payment_type_id="rtp", amount=1
    )
    with pytest.raises(TypeError, match="not both"):
        client.transactions.create(request, amount=2)
    with pytest.raises(TypeError, match="amount"):
        client.transactions.create(from_account_id="a", to_account_id="b", payment_type_id="rtp")


def test_transaction_fields_are_snake_case_with_raw_kept() -> None:
    document = transaction_json(
        status="FAILED",
        failureReason="R01: Insufficient funds",
        metadata={"orderId": "o-1"},
        someNewField="kept",
    )
    engine = EngineDouble().on("GET", "/api/v1/transactions/txn_1", json_response(200, document))
    client = make_client(engine)

    transaction = client.transactions.get("txn_1")

    assert transaction.status == "FAILED"
    assert transaction.is_final
    assert transaction.failure_reason == "R01: Insufficient funds"
    assert transaction.external_reference is None
    assert transaction.from_account_id == "acc_123"
    assert transaction.metadata == {"orderId": "o-1"}
    assert transaction.created_at == datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=timezone.utc)
    assert transaction.completed_at is None
    assert transaction.raw["someNewField"] == "kept"


def test_get_status() -> None:
    engine = EngineDouble().on(
        "GET", STATUS, json_response(200, status_json("COMPLETED", completedAt="2024-01-15T10:30:01Z"))
    )
    client = make_client(engine)

    status = client.transactions.get_status("txn_1")

    assert status.transaction_id == "txn_1"
    assert status.status == "COMPLETED"
    assert status.failure_reason is None
    assert status.completed_at == datetime(2024, 1, 15, 10, 30, 1, tzinfo=timezone.utc)


def test_cancel_uses_the_custom_verb() -> None:
    engine = EngineDouble().on(
        "POST", "/api/v1/transactions/txn_1:cancel", json_response(200, transaction_json(status="CANCELED"))
    )
    client = make_client(engine)

    assert client.transactions.cancel("txn_1", reason="duplicate order").status == "CANCELED"
    assert engine.requests[0].json == {"reason": "duplicate order"}


def test_wait_for_completion_polls_with_backoff_until_final() -> None:
    engine = EngineDouble().on(
        "GET",
        STATUS,
        json_response(200, status_json("PENDING")),
        json_response(200, status_json("PROCESSING")),
        json_response(200, status_json("PROCESSING")),
        json_response(200, status_json("COMPLETED")),
    )
    clock = FakeClock()
    sleeps = Sleeps(clock)
    client = make_client(engine, sleeps, clock)

    status = client.transactions.wait_for_completion("txn_1")

    assert status.status == "COMPLETED"
    assert sleeps.waits == [1.0, 2.0, 4.0]


def test_wait_for_completion_returns_a_failed_payment_without_raising() -> None:
    engine = EngineDouble().on(
        "GET", STATUS, json_response(200, status_json("FAILED", failureReason="R02: Account closed"))
    )
    client = make_client(engine)

    status = client.transactions.wait_for_completion("txn_1")

    assert status.status == "FAILED"
    assert status.failure_reason == "R02: Account closed"


def test_wait_for_completion_gives_up_at_the_timeout() -> None:
    engine = EngineDouble().on("GET", STATUS, json_response(200, status_json("PENDING")))
    clock = FakeClock()
    sleeps = Sleeps(clock)
    client = make_client(engine, sleeps, clock)

    with pytest.raises(WaitTimeoutError) as caught:
        client.transactions.wait_for_completion("txn_1", timeout=10, poll_interval=1, poll_interval_max=4)

    assert sum(sleeps.waits) == 10
    assert sleeps.waits == [1, 2, 4, 3]
    assert caught.value.last_status is not None
    assert caught.value.last_status.status == "PENDING"


def test_async_wait_for_completion() -> None:
    engine = EngineDouble().on(
        "GET",
        STATUS,
        json_response(200, status_json("PENDING")),
        json_response(200, status_json("COMPLETED")),
    )
    sleeps = Sleeps()

    async def scenario() -> str:
        async with make_async_client(engine, sleeps) as client:
            transaction = await client.transactions.get_status("txn_1")
            assert transaction.status == "PENDING"
            return (await client.transactions.wait_for_completion("txn_1")).status

    assert run(scenario()) == "COMPLETED"


def test_accounts() -> None:
    account = {
        "id": "acc_123",
        "name": "Operating",
        "currencyCode": "USD",
        "status": "ACTIVE",
        "metadata": {},
        "availableBalance": 500.0,
        "currentBalance": 750.0,
        "heldBalance": 250.0,
        "createdAt": "2024-01-15T10:30:00Z",
    }
    engine = (
        EngineDouble()
        .on("GET", "/api/v1/accounts/acc_123", json_response(200, account))
        .on("GET", "/api/v1/accounts", json_response(200, {"accounts": [account], "nextPageToken": ""}))
        .on("POST", "/api/v1/accounts/acc_123:freeze", json_response(200, {**account, "status": "FROZEN"}))
        .on(
            "GET",
            "/api/v1/accounts/acc_123/entries",
            json_response(
                200,
                {
                    "entries": [
                        {
                            "id": "pst_1",
                            "amount": 100.0,
                            "direction": "DEBIT",
                            "runningBalance": 650.0,
                            "currencyCode": "USD",
                            "transactionId": "txn_1",
                        }
                    ],
                    "nextPageToken": "",
                },
            ),
        )
        .on(
            "POST",
            "/api/v1/sandbox/accounts/acc_123:fund",
            json_response(
                200,
                {
                    "balance": {
                        "accountId": "acc_123",
                        "availableBalance": 1000.5,
                        "currentBalance": 1250.5,
                        "heldBalance": 250.0,
                        "currencyCode": "USD",
                    },
                    "journalEntryId": "jrn_1",
                },
            ),
        )
    )
    client = make_client(engine)

    got = client.accounts.get("acc_123")
    assert (got.id, got.available_balance, got.held_balance) == (
        "acc_123",
        Decimal("500.0"),
        Decimal("250.0"),
    )
    assert [a.id for a in client.accounts.list(status="ACTIVE")] == ["acc_123"]
    assert engine.calls("GET", "/api/v1/accounts")[0].params["status"] == "ACTIVE"
    assert client.accounts.freeze("acc_123").status == "FROZEN"
    entries = list(client.accounts.list_entries("acc_123"))
    assert entries[0].running_balance == Decimal("650.0")
    funding = client.accounts.fund("acc_123", Decimal("500.50"), description="top up")
    assert funding.balance.available_balance == Decimal("1000.5")
    assert engine.calls("POST", "/api/v1/sandbox/accounts/acc_123:fund")[0].body == (
        b'{"amount":500.50,"description":"top up"}'
    )


def test_payment_types_are_cached() -> None:
    catalogue = {
        "paymentTypes": [
            {
                "id": "RTP",
                "name": "Real-Time Payment",
                "settlement": "INSTANT",
                "currencies": ["USD"],
                "minAmount": 0.01,
                "maxAmount": 1000000.0,
                "cutoffTime": "",
                "expectedProcessingTime": "seconds",
                "expectedProcessingSeconds": 1,
            }
        ]
    }
    engine = EngineDouble().on("GET", "/api/v1/payment-types", json_response(200, catalogue))
    clock = FakeClock()
    client = make_client(engine, clock=clock, payment_types_cache_ttl=300)

    first = client.payment_types.list()
    client.payment_types.list()
    found = client.payment_types.find("rtp")
    assert len(engine.requests) == 1
    assert found is not None and found.min_amount == Decimal("0.01")
    assert client.payment_types.find("swift") is None
    assert first[0].cutoff_time is None

    client.payment_types.list(refresh=True)
    assert len(engine.requests) == 2
    clock.now += 301
    client.payment_types.list()
    assert len(engine.requests) == 3


def test_webhook_endpoints() -> None:
    endpoint = {
        "id": "whe_1",
        "url": "https://example.com/hook",
        "description": "",
        "eventTypes": ["transaction.*"],
        "status": "WEBHOOK_ENDPOINT_STATUS_ENABLED",
        "secret": "whsec_abc",
        "consecutiveFailures": 0,
    }
    engine = (
        EngineDouble()
        .on("POST", "/api/v1/webhook-endpoints", json_response(201, endpoint))
        .on("PATCH", "/api/v1/webhook-endpoints/whe_1", json_response(200, {**endpoint, "secret": ""}))
        .on("DELETE", "/api/v1/webhook-endpoints/whe_1", json_response(200, {"id": "whe_1", "deleted": True}))
        .on(
            "POST",
            "/api/v1/webhook-endpoints/whe_1:disable",
            json_response(
                200,
                {
                    **endpoint,
                    "secret": "",
                    "status": "WEBHOOK_ENDPOINT_STATUS_DISABLED",
                    "disabledReason": "maintenance",
                    "failingSince": "2024-01-15T10:30:00Z",
                },
            ),
        )
        .on(
            "GET",
            "/api/v1/webhook-endpoints/whe_1/deliveries",
            json_response(
                200,
                {
                    "deliveries": [
                        {
                            "id": "dlv_1",
                            "endpointId": "whe_1",
                            "eventId": "evt_1",
                            "eventType": "transaction.completed",
                            "status": "WEBHOOK_DELIVERY_STATUS_FAILED",
                            "trigger": "WEBHOOK_DELIVERY_TRIGGER_EVENT",
                            "attemptCount": 12,
                            "attempts": [{"attemptNumber": 12, "statusCode": 500, "succeeded": False}],
                        }
                    ]
                },
            ),
        )
    )
    client = make_client(engine)

    created = client.webhook_endpoints.create(url="https://example.com/hook", event_types=["transaction.*"])
    assert created.secret == "whsec_abc"
    assert engine.requests[0].json == {"url": "https://example.com/hook", "eventTypes": ["transaction.*"]}

    updated = client.webhook_endpoints.update("whe_1", event_types=[])
    assert updated.secret is None
    patch = engine.calls("PATCH", "/api/v1/webhook-endpoints/whe_1")[0]
    assert patch.params == {"updateMask": "eventTypes"}
    assert patch.json == {"eventTypes": []}

    disabled = client.webhook_endpoints.disable("whe_1", reason="maintenance")
    assert disabled.status == "WEBHOOK_ENDPOINT_STATUS_DISABLED" and disabled.disabled_reason == "maintenance"
    assert disabled.failing_since is not None and disabled.failing_since.year == 2024
    assert engine.calls("POST", "/api/v1/webhook-endpoints/whe_1:disable")[0].json == {
        "reason": "maintenance"
    }
    assert client.webhook_endpoints.delete("whe_1").deleted is True
    deliveries = list(client.webhook_endpoints.list_deliveries("whe_1", status="failed"))
    assert deliveries[0].attempts[0].status_code == 500
    assert engine.calls("GET", "/api/v1/webhook-endpoints/whe_1/deliveries")[0].params["status"] == (
        "WEBHOOK_DELIVERY_STATUS_FAILED"
    )
    with pytest.raises(ValueError):
        client.webhook_endpoints.update("whe_1")


def test_events() -> None:
    event = {
        "eventId": "evt_1",
        "eventType": "transaction.completed",
        "createdAt": "2024-01-15T10:30:00Z",
        "data": {"transactionId": "txn_1"},
        "tenantId": "org_1",
    }
    engine = (
        EngineDouble()
        .on("GET", "/api/v1/events", json_response(200, {"events": [event], "nextPageToken": ""}))
        .on("GET", "/api/v1/events/evt_1", json_response(200, event))
        .on("POST", "/api/v1/events/evt_1:redeliver", json_response(200, {"deliveries": []}))
    )
    client = make_client(engine)

    assert [e.event_type for e in client.events.list(event_type="transaction.*")] == ["transaction.completed"]
    assert client.events.get("evt_1").data["transactionId"] == "txn_1"
    assert client.events.redeliver("evt_1", endpoint_id="whe_1") == []
    assert engine.calls("POST", "/api/v1/events/evt_1:redeliver")[0].json == {"endpointId": "whe_1"}


def test_api_keys_and_me() -> None:
    key = {
        "id": "key_1",
        "name": "backend",
        "scopes": ["transaction:create"],
        "status": "API_KEY_STATUS_ACTIVE",
    }
    engine = (
        EngineDouble()
        .on("POST", "/api/v1/api-keys", json_response(200, {"apiKey": key, "secret": "pe_live_secret"}))
        .on("GET", "/api/v1/api-keys/key_1", json_response(200, {"apiKey": key}))
        .on(
            "POST",
            "/api/v1/api-keys/key_1:rotate",
            json_response(
                200,
                {
                    "apiKey": {**key, "id": "key_2", "rotatedFromId": "key_1"},
                    "secret": "s2",
                    "previousApiKey": key,
                },
            ),
        )
        .on(
            "GET",
            "/api/v1/auth/me",
            json_response(
                200,
                {
                    "principal": {"id": "key_1", "kind": "PRINCIPAL_KIND_API_KEY", "tenantId": "org_1"},
                    "tenant": {"id": "org_1", "name": "Acme"},
                    "scopes": ["transaction:create"],
                },
            ),
        )
    )
    client = make_client(engine)

    created = client.api_keys.create(name="backend", scopes=["transaction:create"])
    assert (created.api_key.id, created.secret) == ("key_1", "pe_live_secret")
    assert client.api_keys.get("key_1").scopes == ["transaction:create"]
    rotated = client.api_keys.rotate("key_1", overlap_seconds=3600)
    assert rotated.api_key.rotated_from_id == "key_1"
    assert rotated.previous_api_key is not None and rotated.previous_api_key.id == "key_1"
    assert engine.calls("POST", "/api/v1/api-keys/key_1:rotate")[0].json == {"overlapSeconds": 3600}
    me = client.auth.me()
    assert me.tenant is not None and me.tenant.name == "Acme"
    assert me.principal.tenant_id == "org_1"


def test_ids_are_escaped_and_must_not_be_empty() -> None:
    engine = EngineDouble().on("GET", "/api/v1/transactions/a/b", json_response(200, transaction_json()))
    client = make_client(engine)

    with pytest.raises(ValueError, match="transaction_id"):
        client.transactions.get("")
    client.transactions.get("a/b")

    assert engine.requests[0].raw_path == "/api/v1/transactions/a%2Fb"


def test_base_url_is_normalized() -> None:
    client = PaymentEngineClient(api_key="k", base_url="https://api.payment-engine.com/api/v1/")
    assert client.base_url == "https://api.payment-engine.com"
    client.close()
    with pytest.raises(ValueError, match="https"):
        PaymentEngineClient(api_key="k", base_url="api.payment-engine.com")


def test_user_agent_and_accept_headers() -> None:
    engine = EngineDouble().on("GET", "/api/v1/transactions/txn_1", json_response(200, transaction_json()))
    client = make_client(engine, headers={"X-Request-Id": "req_mine"})

    client.transactions.get("txn_1")

    sent = engine.requests[0]
    assert sent.headers["User-Agent"].startswith("payment-engine-sdk-python/")
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["X-Request-Id"] == "req_mine"
