"""The integration guide as an acceptance suite: each of its examples written in Python
with the SDK (or httpx for raw HTTP) as faithfully as the language allows, run against a
real engine. Section names follow the guide."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from payment_engine import (
    CreateTransactionRequest,
    ForbiddenError,
    InsufficientFundsError,
    InvalidAccountStatusError,
    InvalidRequestError,
    NotFoundError,
    PaymentEngineClient,
    PaymentEngineError,
    RateLimitExceededError,
    ServiceUnavailableError,
    UnauthorizedError,
    compute_signature,
    construct_event,
    verify_signature,
)

from launcher.backoff import RestartLimits
from tests.harness.engine import EngineFactory, EngineHandle
from tests.harness.grpc_clients import new_tenant


@pytest.fixture(scope="module")
def client(engine_stack: EngineHandle) -> Iterator[PaymentEngineClient]:
    with PaymentEngineClient(
        api_key=engine_stack.credentials.api_key, base_url=engine_stack.base_url, timeout=30
    ) as c:
        yield c


# Authentication — OAuth 2.0 Flow, steps 1 to 3, as raw HTTP.
def test_oauth_flow_as_raw_http(engine_stack: EngineHandle) -> None:
    with httpx.Client(base_url=engine_stack.base_url) as http:
        token = http.post(
            "/api/v1/auth/login",
            json={
                "username": engine_stack.credentials.username,
                "password": engine_stack.credentials.password,
            },
        ).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
        listed = http.get(
            "/api/v1/transactions", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert listed.status_code == 200
        refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": token["refresh_token"]}).json()
        assert refreshed["access_token"] and refreshed["refresh_token"] != token["refresh_token"]
        # API Key Authentication (Alternative)
        by_key = http.get("/api/v1/transactions", headers={"X-API-Key": engine_stack.credentials.api_key})
        assert by_key.status_code == 200


def test_sdk_with_username_and_password_logs_in_by_itself(engine_stack: EngineHandle) -> None:
    with PaymentEngineClient(
        username=engine_stack.credentials.username,
        password=engine_stack.credentials.password,
        base_url=engine_stack.base_url,
    ) as user_client:
        balance = user_client.accounts.get_balance("test_acc_001")
        assert balance.currency_code == "USD"


# Integration Patterns — 1. Synchronous Payment Processing (with 4. pollTransactionStatus).
def process_payment(client: PaymentEngineClient, payment_data: dict[str, Any]) -> dict[str, Any]:
    try:
        response = client.transactions.create(
            from_account_id=payment_data["fromAccount"],
            to_account_id=payment_data["toAccount"],
            payment_type_id="RTP",
            amount=payment_data["amount"],
            description=payment_data["description"],
        )
        if response.status == "COMPLETED":
            return {"success": True, "transactionId": response.id}
        if response.status == "FAILED":
            return {"success": False, "error": response.failure_reason}
        return poll_transaction_status(client, response.id)
    except PaymentEngineError as error:
        return {"success": False, "error": error.message}


def poll_transaction_status(
    client: PaymentEngineClient, transaction_id: str, max_attempts: int = 10
) -> dict[str, Any]:
    for attempt in range(1, max_attempts + 1):
        status = client.transactions.get_status(transaction_id)
        if status.status == "COMPLETED":
            return {"success": True, "transaction": status}
        if status.status == "FAILED":
            return {"success": False, "error": status.failure_reason}
        # The guide waits 2^attempt seconds; the sandbox settles far sooner.
        time.sleep(min(2**attempt, 4) * 0.25)
    raise TimeoutError("Transaction status polling timed out")


def test_synchronous_payment_processing(client: PaymentEngineClient) -> None:
    ok = process_payment(
        client,
        {"fromAccount": "test_acc_001", "toAccount": "test_acc_002", "amount": 25.5, "description": "Sync"},
    )
    assert ok["success"] is True
    failed = process_payment(
        client,
        {"fromAccount": "test_acc_001", "toAccount": "test_acc_002", "amount": 31.01, "description": "x"},
    )
    assert failed["success"] is False and "RTP rejected" in failed["error"]
    refused = process_payment(
        client,
        {"fromAccount": "test_acc_empty", "toAccount": "test_acc_002", "amount": 5, "description": "x"},
    )
    assert refused == {
        "success": False,
        "error": "Account does not have sufficient funds for this transaction",
    }


# 2. Asynchronous Payment Processing, with the stored reference.
def test_asynchronous_payment_processing(client: PaymentEngineClient) -> None:
    references: dict[str, str] = {}
    order_id = f"order-{time.time_ns()}"
    response = client.transactions.create(
        from_account_id="test_acc_001",
        to_account_id="test_acc_002",
        payment_type_id="ACH_CREDIT",
        amount=Decimal("120.00"),
        description="Batch payout",
        external_reference=order_id,
    )
    references[order_id] = response.id
    result = {"submitted": True, "transactionId": response.id, "expectedProcessingTime": "24 hours"}
    assert result["submitted"] and response.status == "PENDING"
    final = client.transactions.wait_for_completion(references[order_id], timeout=30, poll_interval=0.5)
    assert final.status == "COMPLETED"
    found = list(client.transactions.list(external_reference=order_id))
    assert [t.id for t in found] == [response.id]


# 3. Account Balance Checking.
def check_account_balance(
    client: PaymentEngineClient, account_id: str, required_amount: Decimal
) -> dict[str, Any]:
    balance = client.accounts.get_balance(account_id)
    return {
        "hasSufficientFunds": balance.available_balance >= required_amount,
        "availableBalance": balance.available_balance,
        "currency": balance.currency_code,
    }


def test_account_balance_checking(client: PaymentEngineClient) -> None:
    assert check_account_balance(client, "test_acc_001", Decimal("100.00"))["hasSufficientFunds"] is True
    empty = check_account_balance(client, "test_acc_empty", Decimal("0.01"))
    assert empty == {"hasSufficientFunds": False, "availableBalance": Decimal("0.00"), "currency": "USD"}


# SDK Usage — Python SDK, Basic Usage (the guide's accounts acc_123/acc_456 are the sandbox's).
def test_python_sdk_basic_usage(client: PaymentEngineClient) -> None:
    request = CreateTransactionRequest(
        from_account_id="test_acc_001",
        to_account_id="test_acc_002",
        payment_type_id="wire_domestic",
        amount=1000.00,
        currency_code="USD",
        description="Invoice payment",
        metadata={"invoice_id": "INV-001", "customer_id": "CUST-123"},
    )
    transaction = client.transactions.create(request)
    assert transaction.id.startswith("txn_") and transaction.amount == Decimal("1000.00")
    assert transaction.metadata == {"invoice_id": "INV-001", "customer_id": "CUST-123"}
    status = client.transactions.get_status(transaction.id)
    assert status.transaction_id == transaction.id


# Webhook Integration — the guide's Python verification function, verbatim.
def verify_webhook_signature(payload, signature, secret):  # type: ignore[no-untyped-def]
    expected_signature = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()

    expected_header = f"sha256={expected_signature}"

    return hmac.compare_digest(expected_header, signature)


def test_webhook_signature_helpers_agree_with_the_guide() -> None:
    payload = json.dumps(
        {"eventId": "evt_1", "eventType": "transaction.completed", "data": {"transactionId": "t"}}
    )
    secret = "whsec_test"
    header = compute_signature(payload, secret)
    assert verify_webhook_signature(payload, header, secret) is True  # type: ignore[no-untyped-call]
    assert verify_signature(payload, header, secret) is True
    assert verify_signature(payload, header, "other") is False
    event = construct_event(payload, header, secret)
    assert event.event_type == "transaction.completed" and event.data["transactionId"] == "t"
    with pytest.raises(PaymentEngineError):
        construct_event(payload, "sha256=" + "0" * 64, secret)


# Error Handling — Common Error Codes, each caused for real.
def test_error_codes_of_the_guide(client: PaymentEngineClient, engine_stack: EngineHandle) -> None:
    with pytest.raises(InvalidRequestError) as invalid:
        client.transactions.create(
            from_account_id="test_acc_001", to_account_id="test_acc_002", payment_type_id="rtp", amount=1.001
        )
    assert (invalid.value.status, invalid.value.code) == (400, "INVALID_REQUEST")
    assert invalid.value.details["field"] == "amount" and (invalid.value.request_id or "").startswith("req_")

    with (
        PaymentEngineClient(api_key="pe_sandbox_wrong", base_url=engine_stack.base_url) as stranger,
        pytest.raises(UnauthorizedError) as unauthorized,
    ):
        stranger.accounts.get_balance("test_acc_001")
    assert unauthorized.value.status == 401

    reader = new_tenant(engine_stack, "Guide reader", ["account:read"])
    with PaymentEngineClient(api_key=reader.api_key, base_url=engine_stack.base_url) as limited:
        with pytest.raises(ForbiddenError) as forbidden:
            limited.transactions.create(
                from_account_id="test_acc_001", to_account_id="test_acc_002", payment_type_id="rtp", amount=1
            )
        assert forbidden.value.status == 403
        with pytest.raises(NotFoundError) as not_found:
            limited.accounts.get_balance("test_acc_001")
        assert not_found.value.status == 404

    with pytest.raises(InsufficientFundsError) as insufficient:
        client.transactions.create(
            from_account_id="test_acc_empty",
            to_account_id="test_acc_002",
            payment_type_id="rtp",
            amount=1000.00,
        )
    assert insufficient.value.status == 422
    assert insufficient.value.details["availableBalance"] == 0

    frozen = client.accounts.create(name="Frozen", currency_code="USD")
    client.accounts.fund(frozen.id, amount=Decimal("10.00"))
    client.accounts.freeze(frozen.id)
    with pytest.raises(InvalidAccountStatusError) as inactive:
        client.transactions.create(
            from_account_id=frozen.id, to_account_id="test_acc_002", payment_type_id="rtp", amount=1
        )
    assert inactive.value.status == 422


def test_rate_limit_and_service_unavailable_codes(engine_stack_factory: EngineFactory) -> None:
    engine = engine_stack_factory(
        extra_env={"PE_RATE_LIMIT_CREDENTIAL_PER_MINUTE": "5"},
        restart_limits=RestartLimits(delay_s_initial=3.0, delay_s_max=3.0),
    )
    with PaymentEngineClient(
        api_key=engine.credentials.api_key, base_url=engine.base_url, retries=0
    ) as impatient:
        with pytest.raises(RateLimitExceededError) as limited:
            for _ in range(10):
                impatient.accounts.get_balance("test_acc_001")
        assert limited.value.status == 429 and limited.value.retry_after is not None
    other = new_tenant(engine, "Unavailable")
    engine.supervisor.kill("transactions", signal.SIGKILL)
    with PaymentEngineClient(api_key=other.api_key, base_url=engine.base_url, retries=0) as impatient:
        with pytest.raises(ServiceUnavailableError) as unavailable:
            impatient.transactions.list().first_page()
        assert unavailable.value.status == 503
    # The guide's retry strategy: retryable codes are retried with backoff until the
    # service is back (the supervisor restarts it after three seconds).
    with PaymentEngineClient(
        api_key=other.api_key, base_url=engine.base_url, retries=6, retry_delay=1.0
    ) as patient:
        page = patient.transactions.list().first_page()
        assert page.items == []


# Testing — Test Scenarios 1 and 2.
def test_successful_payment_flow(client: PaymentEngineClient) -> None:
    transaction = client.transactions.create(
        from_account_id="test_acc_001",
        to_account_id="test_acc_002",
        payment_type_id="rtp",
        amount=100.00,
        description="Test payment",
    )
    assert transaction.status == "PENDING"
    time.sleep(1)
    status = client.transactions.get_status(transaction.id)
    assert status.status == "COMPLETED"


def test_insufficient_funds(client: PaymentEngineClient) -> None:
    with pytest.raises(PaymentEngineError) as error:
        client.transactions.create(
            from_account_id="test_acc_empty",
            to_account_id="test_acc_002",
            payment_type_id="rtp",
            amount=1000.00,
            description="Test payment",
        )
    assert error.value.code == "INSUFFICIENT_FUNDS"
    assert error.value.status == 422


# Examples — E-commerce Integration.
@dataclass
class Order:
    id: str
    payment_account: str
    merchant_account: str
    payment_method: str
    total: Decimal
    currency: str
    customer_id: str
    items: list[dict[str, Any]]
    status: str = "new"
    transaction_id: str | None = None
    history: list[str] = field(default_factory=list)


class PaymentProcessor:
    def __init__(self, payment_engine_client: PaymentEngineClient, orders: dict[str, Order]) -> None:
        self.client = payment_engine_client
        self.orders = orders

    def process_order_payment(self, order: Order) -> dict[str, Any]:
        try:
            balance = self.client.accounts.get_balance(order.payment_account)
            if balance.available_balance < order.total:
                raise ValueError("Insufficient funds")
            transaction = self.client.transactions.create(
                from_account_id=order.payment_account,
                to_account_id=order.merchant_account,
                payment_type_id=order.payment_method,
                amount=order.total,
                currency_code=order.currency,
                description=f"Payment for order {order.id}",
                external_reference=order.id,
                metadata={
                    "orderId": order.id,
                    "customerId": order.customer_id,
                    "items": [
                        {"id": i["id"], "name": i["name"], "price": i["price"], "quantity": i["quantity"]}
                        for i in order.items
                    ],
                },
            )
            self.update_order_status(order.id, "payment_processing", transaction.id)
            return {"success": True, "transactionId": transaction.id, "status": transaction.status}
        except (PaymentEngineError, ValueError) as error:
            self.update_order_status(order.id, "payment_failed", None, str(error))
            return {"success": False, "error": str(error)}

    def handle_payment_webhook(self, event: Any) -> None:
        if event.event_type == "transaction.completed":
            self.handle_payment_success(event.data)
        elif event.event_type == "transaction.failed":
            self.handle_payment_failure(event.data)

    def handle_payment_success(self, transaction_data: dict[str, Any]) -> None:
        self.update_order_status(
            transaction_data["externalReference"], "paid", transaction_data["transactionId"]
        )

    def handle_payment_failure(self, transaction_data: dict[str, Any]) -> None:
        self.update_order_status(
            transaction_data["externalReference"],
            "payment_failed",
            transaction_data["transactionId"],
            transaction_data["failureReason"],
        )

    def update_order_status(
        self, order_id: str, status: str, transaction_id: str | None, reason: str | None = None
    ) -> None:
        order = self.orders[order_id]
        order.status, order.transaction_id = status, transaction_id or order.transaction_id
        order.history.append(f"{status}:{reason or ''}")


def test_e_commerce_integration(client: PaymentEngineClient) -> None:
    stamp = time.time_ns()
    orders = {
        f"ord-{stamp}-ok": Order(
            f"ord-{stamp}-ok",
            "test_acc_001",
            "test_acc_002",
            "rtp",
            Decimal("59.90"),
            "USD",
            "CUST-1",
            [{"id": "sku-1", "name": "Mug", "price": 29.95, "quantity": 2}],
        ),
        f"ord-{stamp}-ach": Order(
            f"ord-{stamp}-ach",
            "test_acc_001",
            "test_acc_002",
            "ach_credit",
            Decimal("13.02"),
            "USD",
            "CUST-2",
            [],
        ),
        f"ord-{stamp}-poor": Order(
            f"ord-{stamp}-poor",
            "test_acc_empty",
            "test_acc_002",
            "rtp",
            Decimal("10.00"),
            "USD",
            "CUST-3",
            [],
        ),
    }
    processor = PaymentProcessor(client, orders)
    results = {order_id: processor.process_order_payment(order) for order_id, order in orders.items()}
    assert results[f"ord-{stamp}-ok"]["success"] and results[f"ord-{stamp}-ach"]["success"]
    assert results[f"ord-{stamp}-poor"] == {"success": False, "error": "Insufficient funds"}
    for order_id in (f"ord-{stamp}-ok", f"ord-{stamp}-ach"):
        transaction_id = orders[order_id].transaction_id
        assert transaction_id is not None
        client.transactions.wait_for_completion(transaction_id, timeout=30, poll_interval=0.5)
    # The events a webhook would have delivered, read back from the event log.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(
        o.status in ("paid", "payment_failed") for o in orders.values()
    ):
        for event in client.events.list(event_type="transaction.completed", limit=50):
            if event.data.get("externalReference") in orders:
                processor.handle_payment_webhook(event)
        for event in client.events.list(event_type="transaction.failed", limit=50):
            if event.data.get("externalReference") in orders:
                processor.handle_payment_webhook(event)
        time.sleep(0.5)
    assert orders[f"ord-{stamp}-ok"].status == "paid"
    assert orders[f"ord-{stamp}-ach"].status == "payment_failed"
    assert "R02" in orders[f"ord-{stamp}-ach"].history[-1]


# Examples — Subscription Payment Integration, with its three-failure suspension.
@dataclass
class Subscription:
    id: str
    payment_account_id: str
    merchant_account_id: str
    amount: Decimal
    currency: str
    plan_name: str
    consecutive_failures: int = 0
    suspended: bool = False


class SubscriptionPaymentManager:
    def __init__(self, payment_engine_client: PaymentEngineClient) -> None:
        self.client = payment_engine_client
        self.retries_scheduled = 0

    def process_recurring_payment(self, subscription: Subscription) -> Any:
        try:
            return self.client.transactions.create(
                from_account_id=subscription.payment_account_id,
                to_account_id=subscription.merchant_account_id,
                payment_type_id="ach_debit",
                amount=subscription.amount,
                currency_code=subscription.currency,
                description=f"Subscription payment for {subscription.plan_name}",
                external_reference=subscription.id,
                metadata={"subscriptionId": subscription.id, "planId": "pro", "billingPeriod": "2026-11"},
            )
        except PaymentEngineError as error:
            self.handle_subscription_payment_failure(subscription, error)
            raise

    def handle_subscription_payment_failure(
        self, subscription: Subscription, error: PaymentEngineError
    ) -> None:
        subscription.consecutive_failures += 1
        if subscription.consecutive_failures < 3:
            self.retries_scheduled += 1
        else:
            subscription.suspended = True


def test_subscription_manager_suspends_after_three_failures(client: PaymentEngineClient) -> None:
    manager = SubscriptionPaymentManager(client)
    healthy = Subscription(
        f"sub-{time.time_ns()}", "test_acc_001", "test_acc_002", Decimal("9.99"), "USD", "Pro"
    )
    assert manager.process_recurring_payment(healthy).status == "PENDING"
    broke = Subscription(
        f"sub-{time.time_ns()}", "test_acc_empty", "test_acc_002", Decimal("9.99"), "USD", "Pro"
    )
    for _ in range(3):
        with pytest.raises(InsufficientFundsError):
            manager.process_recurring_payment(broke)
    assert broke.suspended and manager.retries_scheduled == 2 and not healthy.suspended
