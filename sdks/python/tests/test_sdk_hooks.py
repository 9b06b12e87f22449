"""on_request / on_response run per attempt, on_error once per failed call."""

from __future__ import annotations

import pytest
from engine_double import (
    API_KEY,
    EngineDouble,
    error_response,
    json_response,
    make_async_client,
    make_client,
    run,
    transaction_json,
)

from payment_engine import NotFoundError, PaymentEngineError, RequestInfo, ResponseInfo

GET_TXN = "/api/v1/transactions/txn_1"


def test_hooks_see_every_attempt_and_the_final_error() -> None:
    engine = EngineDouble().on(
        "GET",
        GET_TXN,
        error_response(503, "SERVICE_UNAVAILABLE", request_id="req_1"),
        error_response(404, "NOT_FOUND", request_id="req_2"),
    )
    requests: list[RequestInfo] = []
    responses: list[ResponseInfo] = []
    errors: list[PaymentEngineError] = []
    client = make_client(
        engine, on_request=requests.append, on_response=responses.append, on_error=errors.append
    )

    with pytest.raises(NotFoundError):
        client.transactions.get("txn_1")

    assert [(r.method, r.url, r.attempt) for r in requests] == [
        ("GET", "https://api.test/api/v1/transactions/txn_1", 1),
        ("GET", "https://api.test/api/v1/transactions/txn_1", 2),
    ]
    assert [(r.status, r.attempt) for r in responses] == [(503, 1), (404, 2)]
    assert len(errors) == 1 and isinstance(errors[0], NotFoundError)
    assert errors[0].request_id == "req_2"


def test_credentials_are_masked_in_what_hooks_see() -> None:
    engine = EngineDouble().on("GET", GET_TXN, json_response(200, transaction_json()))
    requests: list[RequestInfo] = []
    client = make_client(engine, on_request=requests.append)

    client.transactions.get("txn_1")

    assert requests[0].headers["x-api-key"] == "***"
    assert API_KEY not in str(requests[0])


def test_post_hooks_see_the_idempotency_key() -> None:
    engine = EngineDouble().on("POST", "/api/v1/transactions", json_response(201, transaction_json()))
    requests: list[RequestInfo] = []
    client = make_client(engine, on_request=requests.append)

    client.transactions.create(
        from_account_id="a", to_account_id="b", payment_type_id="rtp", amount=1, idempotency_key="order-1"
    )

    assert requests[0].idempotency_key == "order-1"


def test_async_client_accepts_coroutine_hooks() -> None:
    engine = EngineDouble().on("GET", GET_TXN, json_response(200, transaction_json()))
    seen: list[int] = []

    async def on_response(response: ResponseInfo) -> None:
        seen.append(response.status)

    async def scenario() -> None:
        async with make_async_client(
            engine, on_response=on_response, on_request=lambda r: seen.append(0)
        ) as client:
            await client.transactions.get("txn_1")

    run(scenario())

    assert seen == [0, 200]
