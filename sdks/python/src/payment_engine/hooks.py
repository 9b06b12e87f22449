"""What the `on_request`, `on_response` and `on_error` hooks receive.

They mirror the guide's advanced configuration (`onRequest(config)` logs `config.method`
and `config.url`, `onResponse(response)` logs `response.status`, `onError(error)` logs
`error.message`):

    client = PaymentEngineClient(
        api_key=..., base_url=...,
        on_request=lambda request: log.info("request %s %s", request.method, request.url),
        on_response=lambda response: log.info("response %s", response.status),
        on_error=lambda error: log.error("failed: %s", error.message),
    )

`on_request` and `on_response` run for every HTTP attempt, retries included (`attempt`
counts them); `on_error` runs once per failed call, with the `PaymentEngineError` about
to be raised. Credentials in `headers` are masked. An exception raised by a hook
propagates to the caller. The async client also accepts coroutine functions as hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from payment_engine.errors import PaymentEngineError

SECRET_HEADERS: Final = frozenset({"authorization", "x-api-key"})
MASK: Final = "***"


@dataclass(frozen=True)
class RequestInfo:
    method: str
    url: str
    headers: Mapping[str, str]
    # 1 for the first attempt, 2 for the first retry, …
    attempt: int
    # The key this call sends on every attempt (POST only).
    idempotency_key: str | None


@dataclass(frozen=True)
class ResponseInfo:
    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    request_id: str | None
    attempt: int
    elapsed_s: float


RequestHook: TypeAlias = Callable[[RequestInfo], object]
ResponseHook: TypeAlias = Callable[[ResponseInfo], object]
ErrorHook: TypeAlias = Callable[[PaymentEngineError], object]
AsyncRequestHook: TypeAlias = Callable[[RequestInfo], Awaitable[object] | object]
AsyncResponseHook: TypeAlias = Callable[[ResponseInfo], Awaitable[object] | object]
AsyncErrorHook: TypeAlias = Callable[[PaymentEngineError], Awaitable[object] | object]


def masked(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}
