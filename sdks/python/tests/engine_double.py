"""A scripted stand-in for the engine's REST edge, behind httpx.MockTransport.

Each route (method, path) answers from a queue of scripted outcomes — a response, or an
exception to raise as a network failure — repeating the last one when the queue runs
dry. Every request is recorded with its body, so tests can assert what went on the wire.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from payment_engine import AsyncPaymentEngineClient, PaymentEngineClient

BASE_URL = "https://api.test"
API_KEY = "pe_test_key"
T = TypeVar("T")

Outcome = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(document, default=str).encode(), headers=headers or {})


def error_response(
    status: int,
    code: str,
    message: str = "failed",
    details: dict[str, Any] | None = None,
    *,
    request_id: str = "req_test",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    envelope = {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "timestamp": "2024-01-15T10:30:00.000Z",
            "requestId": request_id,
        }
    }
    return json_response(status, envelope, headers)


def transaction_json(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "txn_1",
        "status": "PENDING",
        "fromAccountId": "acc_123",
        "toAccountId": "acc_456",
        "paymentTypeId": "RTP",
        "amount": 100.0,
        "currencyCode": "USD",
        "description": "Test payment",
        "externalReference": "",
        "metadata": {},
        "failureReason": "",
        "createdAt": "2024-01-15T10:30:00.123456789Z",
        "updatedAt": "2024-01-15T10:30:00Z",
    }
    document.update(overrides)
    return document


def status_json(status: str, **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "transactionId": "txn_1",
        "status": status,
        "failureReason": "",
        "createdAt": "2024-01-15T10:30:00Z",
        "updatedAt": "2024-01-15T10:30:01Z",
    }
    document.update(overrides)
    return document


def token_json(access: str, refresh: str, expires_in: int = 3600) -> dict[str, Any]:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "transaction:read transaction:create account:read",
    }


@dataclass
class Recorded:
    method: str
    path: str
    # As sent, percent-encoding included.
    raw_path: str
    params: dict[str, str]
    headers: httpx.Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


@dataclass
class EngineDouble:
    routes: dict[tuple[str, str], list[Outcome]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def on(self, method: str, path: str, *outcomes: Outcome) -> EngineDouble:
        self.routes[(method, path)] = list(outcomes)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.url.path,
                raw_path=request.url.raw_path.split(b"?")[0].decode("ascii"),
                params=dict(request.url.params),
                headers=request.headers,
                body=request.content,
            )
        )
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return error_response(404, "NOT_FOUND", f"No endpoint {request.method} {request.url.path}")
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, httpx.Response):
            return outcome
        return outcome(request)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeps:
    """Records waits instead of waiting, and moves the fake clock on by each."""

    clock: FakeClock | None = None
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self(seconds)


def make_client(
    engine: EngineDouble, sleeps: Sleeps | None = None, clock: FakeClock | None = None, **options: Any
) -> PaymentEngineClient:
    credentials: dict[str, Any] = (
        {} if {"username", "access_token"} & options.keys() else {"api_key": API_KEY}
    )
    return PaymentEngineClient(
        base_url=BASE_URL,
        http_client=httpx.Client(transport=httpx.MockTransport(engine)),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=clock if clock is not None else FakeClock(),
        rng=random.Random(7),
        **credentials,
        **options,
    )


def make_async_client(
    engine: EngineDouble, sleeps: Sleeps | None = None, clock: FakeClock | None = None, **options: Any
) -> AsyncPaymentEngineClient:
    credentials: dict[str, Any] = (
        {} if {"username", "access_token"} & options.keys() else {"api_key": API_KEY}
    )
    sleeper = sleeps if sleeps is not None else Sleeps()
    return AsyncPaymentEngineClient(
        base_url=BASE_URL,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(engine)),
        sleep=sleeper.async_sleep,
        clock=clock if clock is not None else FakeClock(),
        rng=random.Random(7),
        **credentials,
        **options,
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
