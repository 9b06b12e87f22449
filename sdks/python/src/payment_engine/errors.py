"""Every failure the SDK raises is a `PaymentEngineError`.

Errors the engine answers come in the guide's envelope
(`{"error": {"code", "message", "details", "timestamp", "requestId"}}`) and are raised as
the subclass named after their `code` (`INSUFFICIENT_FUNDS` → `InsufficientFundsError`),
so callers can catch exactly what they can handle:

    try:
        client.transactions.create(request)
    except InsufficientFundsError as error:
        print(error.details["availableBalance"], error.request_id)

A code this SDK does not know yet falls back to the class for its HTTP status, so
`except NotFoundError` keeps working when the engine adds finer codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final


class PaymentEngineError(Exception):
    """Base of every SDK error.

    `code` is the guide's error code (`INSUFFICIENT_FUNDS`, …) or, for failures that never
    reached an answer, `CONNECTION_ERROR` / `TIMEOUT`; `status` is the HTTP status (None
    when there was no response); `details` is the envelope's details object; `request_id`
    is the engine's request id (quote it to support); `retry_after` is the server's
    `Retry-After` in seconds, when it sent one.
    """

    default_code: str = "UNKNOWN_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})
        # The decoded response body (the whole envelope), or its text when it was not JSON.
        self.body = body

    def __str__(self) -> str:
        parts = [self.code]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


# --- Failures without an answer from the engine ------------------------------------------


class APIConnectionError(PaymentEngineError):
    """The request could not be completed: connection refused or reset, DNS, TLS, …"""

    default_code = "CONNECTION_ERROR"


class APITimeoutError(APIConnectionError):
    """No answer within the client's timeout."""

    default_code = "TIMEOUT"


class InvalidResponseError(PaymentEngineError):
    """The engine answered something this SDK cannot read (not JSON, a field missing)."""

    default_code = "INVALID_RESPONSE"


class WebhookSignatureError(PaymentEngineError):
    """A webhook's X-Webhook-Signature does not match its body and the endpoint's secret."""

    default_code = "INVALID_SIGNATURE"


class WaitTimeoutError(PaymentEngineError):
    """`transactions.wait_for_completion` gave up before the payment reached a final status.

    `last_status` is the last status read (a `TransactionStatus`).
    """

    default_code = "WAIT_TIMEOUT"

    def __init__(self, message: str, *, last_status: Any = None) -> None:
        super().__init__(message)
        self.last_status = last_status


# --- The guide's codes (Error Handling → Common Error Codes) and the engine's others ------


class InvalidRequestError(PaymentEngineError):
    """400 INVALID_REQUEST: fix the request; `details["field"]` names the culprit."""

    default_code = "INVALID_REQUEST"


class UnauthorizedError(PaymentEngineError):
    """401 UNAUTHORIZED: missing, wrong, expired or revoked credentials."""

    default_code = "UNAUTHORIZED"


class ForbiddenError(PaymentEngineError):
    """403 FORBIDDEN: the credentials lack the scope this call needs."""

    default_code = "FORBIDDEN"


class NotFoundError(PaymentEngineError):
    """404 NOT_FOUND: no such resource (or it belongs to another tenant)."""

    default_code = "NOT_FOUND"


class MethodNotAllowedError(PaymentEngineError):
    """405 METHOD_NOT_ALLOWED."""

    default_code = "METHOD_NOT_ALLOWED"


class ConflictError(PaymentEngineError):
    """409 CONFLICT: the resource already exists or changed meanwhile."""

    default_code = "CONFLICT"


class IdempotencyKeyInUseError(ConflictError):
    """409 IDEMPOTENCY_KEY_IN_USE: a request with the same key is still in flight.

    Retried by the client on its own; raised only when the retries are spent.
    """

    default_code = "IDEMPOTENCY_KEY_IN_USE"


class PayloadTooLargeError(PaymentEngineError):
    """413 PAYLOAD_TOO_LARGE."""

    default_code = "PAYLOAD_TOO_LARGE"


class UnprocessableError(PaymentEngineError):
    """422: the request is well formed but the engine refuses it (the subclasses say why)."""

    default_code = "UNPROCESSABLE"


class IdempotencyKeyReusedError(UnprocessableError):
    """422 IDEMPOTENCY_KEY_REUSED: the key was already used with a different request."""

    default_code = "IDEMPOTENCY_KEY_REUSED"


class InsufficientFundsError(UnprocessableError):
    """422 INSUFFICIENT_FUNDS: `details` carries accountId, requestedAmount, availableBalance."""

    default_code = "INSUFFICIENT_FUNDS"


class InvalidAccountStatusError(UnprocessableError):
    """422 INVALID_ACCOUNT_STATUS: an account of the payment is frozen or closed."""

    default_code = "INVALID_ACCOUNT_STATUS"


class RateLimitExceededError(PaymentEngineError):
    """429 RATE_LIMIT_EXCEEDED: retried by the client (honouring Retry-After) until spent."""

    default_code = "RATE_LIMIT_EXCEEDED"


class ServerError(PaymentEngineError):
    """A 5xx answer."""

    default_code = "SERVER_ERROR"


class InternalError(ServerError):
    """500 INTERNAL_ERROR."""

    default_code = "INTERNAL_ERROR"


class ServiceUnavailableError(ServerError):
    """503 SERVICE_UNAVAILABLE."""

    default_code = "SERVICE_UNAVAILABLE"


ERROR_CLASS_BY_CODE: Final[dict[str, type[PaymentEngineError]]] = {
    cls.default_code: cls
    for cls in (
        InvalidRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        IdempotencyKeyInUseError,
        IdempotencyKeyReusedError,
        PayloadTooLargeError,
        InsufficientFundsError,
        InvalidAccountStatusError,
        RateLimitExceededError,
        InternalError,
        ServiceUnavailableError,
    )
}

ERROR_CLASS_BY_STATUS: Final[dict[int, type[PaymentEngineError]]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableError,
    429: RateLimitExceededError,
    500: InternalError,
    503: ServiceUnavailableError,
}


def error_class_for(code: str | None, status: int) -> type[PaymentEngineError]:
    """The class for a guide code, else for the HTTP status, else the base class."""
    if code is not None and code in ERROR_CLASS_BY_CODE:
        return ERROR_CLASS_BY_CODE[code]
    if status in ERROR_CLASS_BY_STATUS:
        return ERROR_CLASS_BY_STATUS[status]
    if status >= 500:
        return ServerError
    return PaymentEngineError
