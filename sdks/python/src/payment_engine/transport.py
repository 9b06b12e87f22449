"""Sending one API call: authenticate, attempt, retry, map errors, parse.

Each resource method describes its call as an `Operation` (method, path, query, body,
how to read the answer, whether a repeat is harmless) and hands it to the client's
`SyncTransport` or `AsyncTransport`. The two run the same steps; only the waiting
differs. Per call:

1. The body is serialized once (Decimals exactly), and a POST gets its Idempotency-Key
   once: every attempt of the call sends the same bytes and the same key, so the engine
   recognises a retry as the same request.
2. Each attempt sends the credentials (logging in or renewing the session token first
   when needed), runs `on_request`, sends, runs `on_response`.
3. A 2xx answer is parsed into the operation's model. An error answer becomes the
   `PaymentEngineError` subclass of its code; a 401 with a session token renews the
   token and sends again once; retryable failures (see `retries`) wait and go again
   until the policy says stop; then `on_error` runs and the error is raised.
"""

from __future__ import annotations

import asyncio
import inspect
import platform
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import httpx

from payment_engine import wire
from payment_engine.auth import LOGIN_PATH, REFRESH_PATH, Credentials, SessionTokens
from payment_engine.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    PaymentEngineError,
    error_class_for,
)
from payment_engine.hooks import (
    AsyncErrorHook,
    AsyncRequestHook,
    AsyncResponseHook,
    ErrorHook,
    RequestHook,
    RequestInfo,
    ResponseHook,
    ResponseInfo,
    masked,
)
from payment_engine.models import TokenPair
from payment_engine.retries import RetryPolicy, parse_retry_after, should_retry_error, should_retry_transport
from payment_engine.version import VERSION

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.payment-engine.com"
API_PREFIX: Final = "/api/v1"
REQUEST_ID_HEADER: Final = "X-Request-Id"
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_LENGTH_MAX: Final = 255
ERROR_MESSAGE_SHOWN_MAX: Final = 500
USER_AGENT: Final = (
    f"payment-engine-sdk-python/{VERSION} httpx/{httpx.__version__} python/{platform.python_version()}"
)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One API call, described; `parse` turns the decoded JSON answer into the result."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, str] | None = None
    body: Any = None
    # Whether sending the request twice cannot do anything twice (see retries.py).
    retry_safe: bool = True
    idempotency_key: str | None = None
    authenticated: bool = True


@dataclass(frozen=True)
class ClientOptions:
    base_url: str
    timeout: httpx.Timeout
    retry_policy: RetryPolicy
    credentials: Credentials
    extra_headers: Mapping[str, str] = field(default_factory=dict)


def normalize_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"base_url must start with https:// (got {base_url!r})")
    # The guide's base URLs stop before /api/v1; accept one that includes it too.
    return url.removesuffix(API_PREFIX)


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def check_idempotency_key(key: str) -> str:
    if not key or len(key) > IDEMPOTENCY_KEY_LENGTH_MAX or not key.isascii() or not key.isprintable():
        raise ValueError(
            f"idempotency_key must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters"
        )
    return key


def error_from_response(response: httpx.Response) -> PaymentEngineError:
    """The guide's envelope → its PaymentEngineError subclass (or the status's, when the
    body is not an envelope: a proxy's 502 page, say)."""
    status = response.status_code
    header_request_id = response.headers.get(REQUEST_ID_HEADER)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    headers = dict(response.headers)
    body: Any
    try:
        body = wire.loads(response.content) if response.content else None
    except ValueError:
        body = response.text[:ERROR_MESSAGE_SHOWN_MAX]
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        message = envelope.get("message") if isinstance(envelope.get("message"), str) else None
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
        request_id = envelope.get("requestId") if isinstance(envelope.get("requestId"), str) else None
    else:
        code, message, details, request_id = None, None, {}, None
    cls = error_class_for(code, status)
    return cls(
        message or f"HTTP {status} {response.reason_phrase}".strip(),
        code=code or cls.default_code,
        status=status,
        details=details,
        request_id=request_id or header_request_id,
        retry_after=retry_after,
        headers=headers,
        body=body,
    )


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"No answer from the Payment Engine in time: {type(exc).__name__}")
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(f"Could not reach the Payment Engine: {reason}"[:ERROR_MESSAGE_SHOWN_MAX])


def parse_success(operation: Operation[T], response: httpx.Response) -> T:
    request_id = response.headers.get(REQUEST_ID_HEADER)
    try:
        document = wire.loads(response.content) if response.content else None
    except ValueError as exc:
        raise InvalidResponseError(
            f"The answer to {operation.method} {operation.path} is not JSON",
            status=response.status_code,
            request_id=request_id,
            body=response.text[:ERROR_MESSAGE_SHOWN_MAX],
        ) from exc
    try:
        return operation.parse(document)
    except InvalidResponseError as exc:
        exc.status = response.status_code
        exc.request_id = request_id
        exc.body = document
        raise


def login_operation(credentials: Credentials) -> Operation[TokenPair]:
    return Operation(
        "POST",
        LOGIN_PATH,
        lambda document: TokenPair.from_json(wire.require_object(document, "a token")),
        body=credentials.login_body(),
        retry_safe=False,
        authenticated=False,
    )


def refresh_operation(refresh_token: str) -> Operation[TokenPair]:
    # Never repeated after an ambiguous failure: a refresh token is spent on first use,
    # and the engine treats its reuse as theft. If the answer is lost, the session
    # logs in again instead.
    return Operation(
        "POST",
        REFRESH_PATH,
        lambda document: TokenPair.from_json(wire.require_object(document, "a token")),
        body={"refresh_token": refresh_token},
        retry_safe=False,
        authenticated=False,
    )


class _TransportBase:
    def __init__(
        self, options: ClientOptions, *, clock: Callable[[], float], rng: random.Random | None
    ) -> None:
        self.options = options
        self.clock = clock
        self.rng = rng
        self.session = SessionTokens() if options.credentials.uses_session else None

    def url(self, path: str) -> str:
        return self.options.base_url + path

    def base_headers(self, operation: Operation[Any], idempotency_key: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.options.extra_headers}
        if operation.body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_KEY_HEADER] = idempotency_key
        if operation.authenticated:
            headers.update(self.options.credentials.static_headers())
        return headers

    def prepare(self, operation: Operation[Any]) -> tuple[bytes | None, str | None]:
        content = wire.dumps(operation.body) if operation.body is not None else None
        key: str | None = None
        if operation.method == "POST":
            key = check_idempotency_key(operation.idempotency_key or new_idempotency_key())
        return content, key

    def build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        operation: Operation[Any],
        content: bytes | None,
        headers: dict[str, str],
    ) -> httpx.Request:
        return http.build_request(
            operation.method,
            self.url(operation.path),
            params=dict(operation.params) if operation.params else None,
            content=content,
            headers=headers,
            timeout=self.options.timeout,
        )

    def request_info(self, request: httpx.Request, attempt: int, key: str | None) -> RequestInfo:
        return RequestInfo(
            method=request.method,
            url=str(request.url),
            headers=masked(dict(request.headers)),
            attempt=attempt,
            idempotency_key=key,
        )

    def response_info(self, response: httpx.Response, attempt: int, elapsed_s: float) -> ResponseInfo:
        return ResponseInfo(
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            headers=dict(response.headers),
            request_id=response.headers.get(REQUEST_ID_HEADER),
            attempt=attempt,
            elapsed_s=elapsed_s,
        )

    def reauthenticate(self, error: PaymentEngineError, operation: Operation[Any], token: str | None) -> bool:
        """After a 401: forget the refused session token and say whether to send again."""
        if error.status != 401 or self.session is None or not operation.authenticated:
            return False
        self.session.reject(token)
        return True


class SyncTransport(_TransportBase):
    def __init__(
        self,
        options: ClientOptions,
        http: httpx.Client,
        *,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        on_error: ErrorHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(options, clock=clock, rng=rng)
        self.http = http
        self.on_request = on_request
        self.on_response = on_response
        self.on_error = on_error
        self.sleep = sleep
        self._session_lock = threading.Lock()

    def request(self, operation: Operation[T]) -> T:
        content, key = self.prepare(operation)
        retry_number = 0
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            headers = self.base_headers(operation, key)
            token = self._session_token() if operation.authenticated else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            request = self.build(self.http, operation, content, headers)
            if self.on_request is not None:
                self.on_request(self.request_info(request, attempt, key))
            started = self.clock()
            try:
                response = self.http.send(request)
            except httpx.TransportError as exc:
                failure = connection_error(exc)
                retry_number += 1
                delay = (
                    self.options.retry_policy.delay(retry_number, None, self.rng)
                    if should_retry_transport(exc, retry_safe=operation.retry_safe)
                    else None
                )
                if delay is None:
                    raise self._failed(failure) from exc
                self.sleep(delay)
                continue
            if self.on_response is not None:
                self.on_response(self.response_info(response, attempt, self.clock() - started))
            if response.is_success:
                try:
                    return parse_success(operation, response)
                except PaymentEngineError as unreadable:
                    raise self._failed(unreadable) from None
            error = error_from_response(response)
            if not reauthenticated and self.reauthenticate(error, operation, token):
                reauthenticated = True
                continue
            if should_retry_error(error, retry_safe=operation.retry_safe):
                retry_number += 1
                delay = self.options.retry_policy.delay(retry_number, error.retry_after, self.rng)
                if delay is not None:
                    self.sleep(delay)
                    continue
            raise self._failed(error)

    def _failed(self, error: PaymentEngineError) -> PaymentEngineError:
        if self.on_error is not None:
            self.on_error(error)
        return error

    def _session_token(self) -> str | None:
        session = self.session
        if session is None:
            return None
        token = session.current(self.clock())
        if token is not None:
            return token
        with self._session_lock:
            # Another thread may have renewed it while this one waited.
            token = session.current(self.clock())
            if token is not None:
                return token
            session.store(self._renew(session), self.clock())
            assert session.access_token is not None
            return session.access_token

    def _renew(self, session: SessionTokens) -> TokenPair:
        if session.refresh_token is not None:
            refresh_token = session.refresh_token
            session.forget_refresh_token()
            try:
                return self.request(refresh_operation(refresh_token))
            except PaymentEngineError as error:
                if error.status is None or error.status >= 500:
                    raise
                # Refused (spent, expired, revoked): start a new session below.
        return self.request(login_operation(self.options.credentials))

    def logout_locally(self) -> None:
        if self.session is not None:
            with self._session_lock:
                self.session.clear()


class AsyncTransport(_TransportBase):
    def __init__(
        self,
        options: ClientOptions,
        http: httpx.AsyncClient,
        *,
        on_request: AsyncRequestHook | None = None,
        on_response: AsyncResponseHook | None = None,
        on_error: AsyncErrorHook | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(options, clock=clock, rng=rng)
        self.http = http
        self.on_request = on_request
        self.on_response = on_response
        self.on_error = on_error
        self.sleep = sleep
        self._session_lock = asyncio.Lock()

    async def request(self, operation: Operation[T]) -> T:
        content, key = self.prepare(operation)
        retry_number = 0
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            headers = self.base_headers(operation, key)
            token = await self._session_token() if operation.authenticated else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            request = self.build(self.http, operation, content, headers)
            if self.on_request is not None:
                await _call(self.on_request, self.request_info(request, attempt, key))
            started = self.clock()
            try:
                response = await self.http.send(request)
            except httpx.TransportError as exc:
                failure = connection_error(exc)
                retry_number += 1
                delay = (
                    self.options.retry_policy.delay(retry_number, None, self.rng)
                    if should_retry_transport(exc, retry_safe=operation.retry_safe)
                    else None
                )
                if delay is None:
                    raise await self._failed(failure) from exc
                await self.sleep(delay)
                continue
            if self.on_response is not None:
                await _call(self.on_response, self.response_info(response, attempt, self.clock() - started))
            if response.is_success:
                try:
                    return parse_success(operation, response)
                except PaymentEngineError as unreadable:
                    raise await self._failed(unreadable) from None
            error = error_from_response(response)
            if not reauthenticated and self.reauthenticate(error, operation, token):
                reauthenticated = True
                continue
            if should_retry_error(error, retry_safe=operation.retry_safe):
                retry_number += 1
                delay = self.options.retry_policy.delay(retry_number, error.retry_after, self.rng)
                if delay is not None:
                    await self.sleep(delay)
                    continue
            raise await self._failed(error)

    async def _failed(self, error: PaymentEngineError) -> PaymentEngineError:
        if self.on_error is not None:
            await _call(self.on_error, error)
        return error

    async def _session_token(self) -> str | None:
        session = self.session
        if session is None:
            return None
        token = session.current(self.clock())
        if token is not None:
            return token
        async with self._session_lock:
            token = session.current(self.clock())
            if token is not None:
                return token
            session.store(await self._renew(session), self.clock())
            assert session.access_token is not None
            return session.access_token

    async def _renew(self, session: SessionTokens) -> TokenPair:
        if session.refresh_token is not None:
            refresh_token = session.refresh_token
            session.forget_refresh_token()
            try:
                return await self.request(refresh_operation(refresh_token))
            except PaymentEngineError as error:
                if error.status is None or error.status >= 500:
                    raise
        return await self.request(login_operation(self.options.credentials))

    async def logout_locally(self) -> None:
        if self.session is not None:
            async with self._session_lock:
                self.session.clear()


async def _call(hook: Callable[[Any], Any], argument: Any) -> None:
    result = hook(argument)
    if inspect.isawaitable(result):
        await result
