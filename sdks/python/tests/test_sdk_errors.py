"""Error answers become the PaymentEngineError subclass of their code, carrying code,
status, message, details and request id."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from engine_double import EngineDouble, error_response, json_response, make_client, transaction_json

from payment_engine import (
    ConflictError,
    ForbiddenError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InsufficientFundsError,
    InternalError,
    InvalidAccountStatusError,
    InvalidRequestError,
    InvalidResponseError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentEngineError,
    RateLimitExceededError,
    ServerError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnprocessableError,
)

PATH = "/api/v1/transactions/txn_1"


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "INVALID_REQUEST", InvalidRequestError),
        (401, "UNAUTHORIZED", UnauthorizedError),
        (403, "FORBIDDEN", ForbiddenError),
        (404, "NOT_FOUND", NotFoundError),
        (405, "METHOD_NOT_ALLOWED", MethodNotAllowedError),
        (409, "CONFLICT", ConflictError),
        (409, "IDEMPOTENCY_KEY_IN_USE", IdempotencyKeyInUseError),
        (413, "PAYLOAD_TOO_LARGE", PayloadTooLargeError),
        (422, "IDEMPOTENCY_KEY_REUSED", IdempotencyKeyReusedError),
        (422, "INSUFFICIENT_FUNDS", InsufficientFundsError),
        (422, "INVALID_ACCOUNT_STATUS", InvalidAccountStatusError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitExceededError),
        (500, "INTERNAL_ERROR", InternalError),
        (503, "SERVICE_UNAVAILABLE", ServiceUnavailableError),
    ],
)
def test_each_guide_code_raises_its_class(
    status: int, code: str, error_class: type[PaymentEngineError]
) -> None:
    engine = EngineDouble().on("GET", PATH, error_response(status, code, "It failed", {"id": "txn_1"}))
    client = make_client(engine, retries=0)

    with pytest.raises(error_class) as caught:
        client.transactions.get("txn_1")

    error = caught.value
    assert type(error) is error_class
    assert error.code == code
    assert error.status == status
    assert error.message == "It failed"
    assert error.details == {"id": "txn_1"}
    assert error.request_id == "req_test"


def test_insufficient_funds_carries_its_details_as_decimals() -> None:
    details = {"accountId": "test_acc_empty", "requestedAmount": 1000.0, "availableBalance": 0.1}
    engine = EngineDouble().on(
        "POST",
        "/api/v1/transactions",
        error_response(422, "INSUFFICIENT_FUNDS", "Account does not have sufficient funds", details),
    )
    client = make_client(engine)

    with pytest.raises(InsufficientFundsError) as caught:
        client.transactions.create(
            from_account_id="test_acc_empty", to_account_id="test_acc_002", payment_type_id="rtp", amount=1000
        )

    error = caught.value
    assert isinstance(error, UnprocessableError)
    assert error.details["requestedAmount"] == Decimal("1000.0")
    assert error.details["availableBalance"] == Decimal("0.1")
    assert "Account does not have sufficient funds" in str(error)
    assert "INSUFFICIENT_FUNDS" in str(error) and "req_test" in str(error)


def test_unknown_code_falls_back_to_the_class_of_its_status_and_keeps_the_code() -> None:
    engine = EngineDouble().on("GET", PATH, error_response(422, "LIMIT_EXCEEDED"))
    client = make_client(engine)

    with pytest.raises(UnprocessableError) as caught:
        client.transactions.get("txn_1")

    assert caught.value.code == "LIMIT_EXCEEDED"


def test_unknown_status_is_the_base_class() -> None:
    engine = EngineDouble().on("GET", PATH, error_response(418, "TEAPOT"))
    client = make_client(engine)

    with pytest.raises(PaymentEngineError) as caught:
        client.transactions.get("txn_1")

    assert type(caught.value) is PaymentEngineError
    assert caught.value.status == 418


def test_a_non_envelope_5xx_is_a_server_error_with_the_header_request_id() -> None:
    engine = EngineDouble().on(
        "GET",
        PATH,
        httpx.Response(502, content=b"<html>Bad gateway</html>", headers={"X-Request-Id": "req_proxy"}),
    )
    client = make_client(engine, retries=0)

    with pytest.raises(ServerError) as caught:
        client.transactions.get("txn_1")

    assert caught.value.status == 502
    assert caught.value.request_id == "req_proxy"
    assert caught.value.body == "<html>Bad gateway</html>"


def test_a_success_that_is_not_json_is_an_invalid_response() -> None:
    engine = EngineDouble().on(
        "GET", PATH, httpx.Response(200, content=b"oops", headers={"X-Request-Id": "req_9"})
    )
    client = make_client(engine)

    with pytest.raises(InvalidResponseError) as caught:
        client.transactions.get("txn_1")

    assert caught.value.request_id == "req_9"


def test_a_missing_amount_is_an_error_never_a_silent_zero() -> None:
    document = transaction_json()
    del document["amount"]
    engine = EngineDouble().on("GET", PATH, json_response(200, document))
    client = make_client(engine)

    with pytest.raises(InvalidResponseError, match="amount"):
        client.transactions.get("txn_1")
