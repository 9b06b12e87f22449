"""Retries: which failures, how long between attempts, and that a retried payment is the
same request (same bytes, same Idempotency-Key) so it can never pay twice."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from engine_double import (
    EngineDouble,
    Sleeps,
    error_response,
    json_response,
    make_async_client,
    make_client,
    run,
    transaction_json,
)

from payment_engine import (
    APIConnectionError,
    APITimeoutError,
    ConflictError,
    CreateTransactionRequest,
    IdempotencyKeyInUseError,
    InsufficientFundsError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RateLimitExceededError,
    RetryPolicy,
    ServiceUnavailableError,
)
from payment_engine.retries import parse_retry_after

TXN = "/api/v1/transactions"


def _request() -> CreateTransactionRequest:
    return CreateTransactionRequest(
        from_account_id="acc_123",
        to_account_id="acc_456",
        payment_type_id="rtp",
        amount=Decimal("100.00"),
        description="Test payment",
    )


def test_a_payment_retried_after_5xx_keeps_its_idempotency_key_and_body() -> None:
    engine = EngineDouble().on(
        "POST",
        TXN,
        error_response(503, "SERVICE_UNAVAILABLE"),
        error_response(500, "INTERNAL_ERROR"),
        json_response(201, transaction_json()),
    )
    sleeps = Sleeps()
    client = make_client(engine, sleeps)

    transaction = client.transactions.create(_request())

    assert transaction.id == "txn_1"
    attempts = engine.calls("POST", TXN)
    assert len(attempts) == 3
    keys = {attempt.headers["Idempotency-Key"] for attempt in attempts}
    assert len(keys) == 1 and keys != {""}
    assert len({attempt.body for attempt in attempts}) == 1
    # Exponential backoff with jitter: retry n waits between half and all of 1s * 2**(n-1).
    assert len(sleeps.waits) == 2
    assert 0.5 <= sleeps.waits[0] <= 1.0
    assert 1.0 <= sleeps.waits[1] <= 2.0


def test_a_payment_retried_after_a_read_timeout_keeps_its_key() -> None:
    engine = EngineDouble().on(
        "POST",
        TXN,
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
        json_response(201, transaction_json()),
    )
    client = make_client(engine)

    client.transactions.create(_request(), idempotency_key="order-1001")

    attempts = engine.calls("POST", TXN)
    assert [a.headers["Idempotency-Key"] for a in attempts] == ["order-1001"] * 3


def test_separate_calls_get_separate_generated_keys() -> None:
    engine = EngineDouble().on("POST", TXN, json_response(201, transaction_json()))
    client = make_client(engine)

    client.transactions.create(_request())
    client.transactions.create(_request())

    first, second = engine.calls("POST", TXN)
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


def test_every_post_carries_a_key_and_gets_do_not() -> None:
    engine = (
        EngineDouble()
        .on(
            "POST",
            "/api/v1/transactions/txn_1:cancel",
            json_response(200, transaction_json(status="CANCELED")),
        )
        .on("GET", "/api/v1/transactions/txn_1", json_response(200, transaction_json()))
    )
    client = make_client(engine)

    client.transactions.cancel("txn_1", reason="customer asked")
    client.transactions.get("txn_1")

    cancel, get = engine.requests
    assert cancel.headers.get("Idempotency-Key")
    assert "Idempotency-Key" not in get.headers


def test_rate_limit_waits_for_retry_after() -> None:
    engine = EngineDouble().on(
        "GET",
        "/api/v1/transactions/txn_1",
        error_response(429, "RATE_LIMIT_EXCEEDED", headers={"Retry-After": "7"}),
        json_response(200, transaction_json()),
    )
    sleeps = Sleeps()
    client = make_client(engine, sleeps, retry_delay=0.1)

    client.transactions.get("txn_1")

    assert sleeps.waits == [7.0]


def test_retry_after_longer_than_the_maximum_is_raised_not_waited() -> None:
    engine = EngineDouble().on(
        "GET",
        "/api/v1/transactions/txn_1",
        error_response(429, "RATE_LIMIT_EXCEEDED", headers={"Retry-After": "3600"}),
    )
    sleeps = Sleeps()
    client = make_client(engine, sleeps)

    with pytest.raises(RateLimitExceededError) as caught:
        client.transactions.get("txn_1")

    assert caught.value.retry_after == 3600.0
    assert sleeps.waits == []
    assert len(engine.requests) == 1


def test_retries_stop_after_the_configured_number() -> None:
    engine = EngineDouble().on("GET", "/api/v1/transactions/txn_1", error_response(500, "INTERNAL_ERROR"))
    sleeps = Sleeps()
    client = make_client(engine, sleeps, retries=2)

    with pytest.raises(InternalError):
        client.transactions.get("txn_1")

    assert len(engine.requests) == 3
    assert len(sleeps.waits) == 2


def test_retries_zero_means_one_attempt() -> None:
    engine = EngineDouble().on(
        "GET", "/api/v1/transactions/txn_1", error_response(503, "SERVICE_UNAVAILABLE")
    )
    client = make_client(engine, retries=0)

    with pytest.raises(ServiceUnavailableError):
        client.transactions.get("txn_1")

    assert len(engine.requests) == 1


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "INVALID_REQUEST", InvalidRequestError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "CONFLICT", ConflictError),
        (422, "INSUFFICIENT_FUNDS", InsufficientFundsError),
    ],
)
def test_other_4xx_are_never_retried(status: int, code: str, error_class: type[Exception]) -> None:
    engine = EngineDouble().on("POST", TXN, error_response(status, code))
    sleeps = Sleeps()
    client = make_client(engine, sleeps)

    with pytest.raises(error_class):
        client.transactions.create(_request())

    assert len(engine.requests) == 1
    assert sleeps.waits == []


def test_idempotency_key_in_use_is_retried_with_the_same_key() -> None:
    engine = EngineDouble().on(
        "POST", TXN, error_response(409, "IDEMPOTENCY_KEY_IN_USE"), json_response(201, transaction_json())
    )
    client = make_client(engine)

    client.transactions.create(_request())

    first, second = engine.calls("POST", TXN)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_idempotency_key_in_use_is_raised_when_retries_are_spent() -> None:
    engine = EngineDouble().on("POST", TXN, error_response(409, "IDEMPOTENCY_KEY_IN_USE"))
    client = make_client(engine, retries=1)

    with pytest.raises(IdempotencyKeyInUseError):
        client.transactions.create(_request())

    assert len(engine.requests) == 2


def test_connection_refused_is_retried_for_any_call() -> None:
    engine = EngineDouble().on(
        "POST",
        "/api/v1/accounts",
        httpx.ConnectError("refused"),
        json_response(
            201,
            {
                "id": "acc_9",
                "name": "Ops",
                "currencyCode": "USD",
                "status": "ACTIVE",
                "availableBalance": 0.0,
                "currentBalance": 0.0,
                "heldBalance": 0.0,
            },
        ),
    )
    client = make_client(engine)

    account = client.accounts.create(name="Ops", currency_code="USD")

    assert account.id == "acc_9"
    assert len(engine.requests) == 2


def test_a_post_the_engine_does_not_deduplicate_is_not_retried_after_an_ambiguous_failure() -> None:
    engine = EngineDouble().on("POST", "/api/v1/accounts", httpx.ReadTimeout("slow"))
    client = make_client(engine)

    with pytest.raises(APITimeoutError) as caught:
        client.accounts.create(name="Ops", currency_code="USD")

    assert len(engine.requests) == 1
    assert caught.value.code == "TIMEOUT"
    assert caught.value.status is None


def test_a_post_the_engine_does_not_deduplicate_is_not_retried_after_5xx_but_is_after_429() -> None:
    engine = EngineDouble().on("POST", "/api/v1/webhook-endpoints", error_response(500, "INTERNAL_ERROR"))
    client = make_client(engine)
    with pytest.raises(InternalError):
        client.webhook_endpoints.create(url="https://example.com/hook")
    assert len(engine.requests) == 1

    endpoint = {"id": "whe_1", "url": "https://example.com/hook", "status": "WEBHOOK_ENDPOINT_STATUS_ENABLED"}
    engine = EngineDouble().on(
        "POST",
        "/api/v1/webhook-endpoints",
        error_response(429, "RATE_LIMIT_EXCEEDED"),
        json_response(201, endpoint),
    )
    client = make_client(engine)
    assert client.webhook_endpoints.create(url="https://example.com/hook").id == "whe_1"
    assert len(engine.requests) == 2


def test_network_failure_becomes_api_connection_error_after_retries() -> None:
    engine = EngineDouble().on("GET", "/api/v1/transactions/txn_1", httpx.ConnectError("refused"))
    sleeps = Sleeps()
    client = make_client(engine, sleeps, retries=3)

    with pytest.raises(APIConnectionError) as caught:
        client.transactions.get("txn_1")

    assert caught.value.code == "CONNECTION_ERROR"
    assert len(engine.requests) == 4
    assert len(sleeps.waits) == 3


def test_async_client_retries_with_the_same_key() -> None:
    engine = EngineDouble().on(
        "POST",
        TXN,
        error_response(503, "SERVICE_UNAVAILABLE", headers={"Retry-After": "2"}),
        json_response(201, transaction_json()),
    )
    sleeps = Sleeps()

    async def scenario() -> None:
        async with make_async_client(engine, sleeps, retry_delay=0.1) as client:
            await client.transactions.create(_request())

    run(scenario())

    first, second = engine.calls("POST", TXN)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert sleeps.waits == [2.0]


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(retries=10, retry_delay=1.0, retry_delay_max=8.0)
    rng = random.Random(1)
    for retry_number, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        for _ in range(50):
            assert ceiling / 2 <= policy.backoff(retry_number, rng) <= ceiling


def test_policy_delay_honours_retry_after_and_the_retry_budget() -> None:
    policy = RetryPolicy(retries=2, retry_delay=0.5)
    assert policy.delay(1, 5.0) == 5.0
    assert policy.delay(3, None) is None
    assert policy.delay(1, 61.0) is None


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)
    later = now + timedelta(seconds=30)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now) == 30.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_retry_options_are_validated() -> None:
    with pytest.raises(ValueError, match="retries"):
        make_client(EngineDouble(), retries=-1)
    with pytest.raises(ValueError, match="retry_delay"):
        make_client(EngineDouble(), retry_delay=-1)
