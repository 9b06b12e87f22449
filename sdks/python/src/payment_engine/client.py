"""`PaymentEngineClient` and its async twin `AsyncPaymentEngineClient`.

    client = PaymentEngineClient(
        api_key=os.environ["PAYMENT_ENGINE_API_KEY"],
        base_url="https://api.payment-engine.com",
        timeout=30,
    )

One client holds one pool of HTTP connections: create it once and share it (it is
thread-safe), and close it when done (`with PaymentEngineClient(...) as client:`).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Final

import httpx

from payment_engine.accounts import Accounts, AsyncAccounts
from payment_engine.api_keys import ApiKeys, AsyncApiKeys
from payment_engine.auth import Credentials
from payment_engine.debit_authorizations import AsyncDebitAuthorizations, DebitAuthorizations
from payment_engine.events import AsyncEvents, Events
from payment_engine.hooks import (
    AsyncErrorHook,
    AsyncRequestHook,
    AsyncResponseHook,
    ErrorHook,
    RequestHook,
    ResponseHook,
)
from payment_engine.identity import AsyncAuth, Auth
from payment_engine.payment_types import CACHE_TTL_DEFAULT_S, AsyncPaymentTypes, PaymentTypes
from payment_engine.retries import RETRY_DELAY_DEFAULT_S, RETRY_DELAY_MAX_DEFAULT_S, RetryPolicy
from payment_engine.transactions import AsyncTransactions, Transactions
from payment_engine.transport import (
    DEFAULT_BASE_URL,
    AsyncTransport,
    ClientOptions,
    SyncTransport,
    normalize_base_url,
)
from payment_engine.webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoints

BASE_URL_ENV: Final = "PAYMENT_ENGINE_BASE_URL"
TIMEOUT_DEFAULT_S: Final = 30.0
CONNECTIONS_MAX: Final = 100
KEEPALIVE_CONNECTIONS_MAX: Final = 20


def _options(
    *,
    api_key: str | None,
    access_token: str | None,
    username: str | None,
    password: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout,
    retries: int,
    retry_delay: float,
    retry_delay_max: float,
    headers: Mapping[str, str] | None,
) -> ClientOptions:
    if not isinstance(timeout, httpx.Timeout):
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        timeout = httpx.Timeout(float(timeout))
    return ClientOptions(
        base_url=normalize_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
        timeout=timeout,
        retry_policy=RetryPolicy(retries=retries, retry_delay=retry_delay, retry_delay_max=retry_delay_max),
        credentials=Credentials.choose(
            api_key=api_key, access_token=access_token, username=username, password=password
        ),
        extra_headers=dict(headers or {}),
    )


def _limits() -> httpx.Limits:
    return httpx.Limits(max_connections=CONNECTIONS_MAX, max_keepalive_connections=KEEPALIVE_CONNECTIONS_MAX)


class PaymentEngineClient:
    """The Payment Engine API, synchronously.

    Authenticate with one of: `api_key` (sent as X-API-Key; defaults to the
    PAYMENT_ENGINE_API_KEY environment variable), `username` and `password` (the client
    logs in and renews its token by itself), or a ready `access_token`.

    `base_url` defaults to PAYMENT_ENGINE_BASE_URL, else production. `timeout` is in
    seconds per attempt. `retries` is how many times a failed call is tried again
    (429, 5xx, network; see README "Retries and idempotency"), waiting about
    `retry_delay * 2**n` seconds (jittered, at most `retry_delay_max`, never less than
    the server's Retry-After). Hooks: `on_request(RequestInfo)`,
    `on_response(ResponseInfo)`, `on_error(PaymentEngineError)`. `headers` are added to
    every request. `http_client` replaces the client's own httpx.Client (proxies, custom
    TLS, a mock transport in tests); the SDK then leaves closing it to you. `sleep` and
    `clock` replace `time.sleep` and `time.monotonic`, for tests that must not wait.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = TIMEOUT_DEFAULT_S,
        retries: int = 3,
        retry_delay: float = RETRY_DELAY_DEFAULT_S,
        retry_delay_max: float = RETRY_DELAY_MAX_DEFAULT_S,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        on_error: ErrorHook | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        payment_types_cache_ttl: float = CACHE_TTL_DEFAULT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        options = _options(
            api_key=api_key,
            access_token=access_token,
            username=username,
            password=password,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            retry_delay_max=retry_delay_max,
            headers=headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(limits=_limits(), follow_redirects=False)
        self._transport = SyncTransport(
            options,
            self._http,
            on_request=on_request,
            on_response=on_response,
            on_error=on_error,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )
        self.transactions = Transactions(self._transport)
        self.accounts = Accounts(self._transport)
        self.payment_types = PaymentTypes(self._transport, cache_ttl_s=payment_types_cache_ttl)
        self.webhook_endpoints = WebhookEndpoints(self._transport)
        self.events = Events(self._transport)
        self.api_keys = ApiKeys(self._transport)
        self.debit_authorizations = DebitAuthorizations(self._transport)
        self.auth = Auth(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.options.base_url

    def close(self) -> None:
        """Closes the connection pool (unless it came from `http_client`)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> PaymentEngineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PaymentEngineClient(base_url={self.base_url!r})"


class AsyncPaymentEngineClient:
    """The Payment Engine API for asyncio; the same options as `PaymentEngineClient`
    (hooks may be coroutine functions; `sleep` is awaited; `http_client` is an
    httpx.AsyncClient).

        async with AsyncPaymentEngineClient(api_key=...) as client:
            transaction = await client.transactions.create(request)
            async for account in client.accounts.list():
                ...
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = TIMEOUT_DEFAULT_S,
        retries: int = 3,
        retry_delay: float = RETRY_DELAY_DEFAULT_S,
        retry_delay_max: float = RETRY_DELAY_MAX_DEFAULT_S,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        on_request: AsyncRequestHook | None = None,
        on_response: AsyncResponseHook | None = None,
        on_error: AsyncErrorHook | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        payment_types_cache_ttl: float = CACHE_TTL_DEFAULT_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        options = _options(
            api_key=api_key,
            access_token=access_token,
            username=username,
            password=password,
            base_url=base_url,
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            retry_delay_max=retry_delay_max,
            headers=headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(limits=_limits(), follow_redirects=False)
        self._transport = AsyncTransport(
            options,
            self._http,
            on_request=on_request,
            on_response=on_response,
            on_error=on_error,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )
        self.transactions = AsyncTransactions(self._transport)
        self.accounts = AsyncAccounts(self._transport)
        self.payment_types = AsyncPaymentTypes(self._transport, cache_ttl_s=payment_types_cache_ttl)
        self.webhook_endpoints = AsyncWebhookEndpoints(self._transport)
        self.events = AsyncEvents(self._transport)
        self.api_keys = AsyncApiKeys(self._transport)
        self.debit_authorizations = AsyncDebitAuthorizations(self._transport)
        self.auth = AsyncAuth(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.options.base_url

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPaymentEngineClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncPaymentEngineClient(base_url={self.base_url!r})"
