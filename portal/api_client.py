"""The portal's only way into the engine: the public REST v1 API, with the signed-in
user's bearer token, refreshed silently when it expires."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import httpx

from portal.sessions import ApiTokens, PortalSession

API_TIMEOUT_S: Final = 15.0
# Refresh a little before the access token expires, so that a page never fails halfway.
REFRESH_MARGIN_S: Final = 30.0
PAGE_SIZE_MAX: Final = 100

Json = dict[str, Any]


@dataclass
class ApiError(Exception):
    """The guide's error envelope, as the API answered it."""

    status: int
    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    request_id: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class SessionExpired(Exception):
    """The API no longer accepts the session's tokens: the user signs in again."""


def parse_json(content: bytes) -> Any:
    # Decimal keeps amounts exact: 13.01 stays 13.01, never 13.0099999.
    return json.loads(content, parse_float=Decimal) if content else {}


def _error_from(response: httpx.Response) -> ApiError:
    try:
        body = parse_json(response.content)
        error = body.get("error", {}) if isinstance(body, dict) else {}
    except ValueError:
        error = {}
    return ApiError(
        status=response.status_code,
        code=str(error.get("code") or f"HTTP_{response.status_code}"),
        message=str(error.get("message") or response.reason_phrase),
        details=error.get("details") or {},
        request_id=str(error.get("requestId") or response.headers.get("x-request-id", "")),
    )


def _tokens_from(body: Json) -> ApiTokens:
    expires_in_s = float(body.get("expires_in") or 0)
    return ApiTokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body["refresh_token"]),
        refresh_after_s=time.monotonic() + max(expires_in_s - REFRESH_MARGIN_S, 0.0),
    )


class EngineApi:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=API_TIMEOUT_S, transport=transport, follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def sign_in(self, username: str, password: str) -> ApiTokens:
        response = await self._http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        if response.status_code != 200:
            raise _error_from(response)
        return _tokens_from(parse_json(response.content))

    async def sign_out(self, session: PortalSession) -> None:
        if session.tokens is None:
            return
        tokens = session.tokens
        # Signing out of the portal must work even when the API is down; the tokens
        # expire on their own.
        with contextlib.suppress(httpx.HTTPError):
            await self._http.post(
                "/api/v1/auth/logout",
                json={"refresh_token": tokens.refresh_token},
                headers={"Authorization": f"Bearer {tokens.access_token}", "Idempotency-Key": _new_key()},
            )

    async def call(
        self,
        session: PortalSession,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Json | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        """One API request as the session's user. Refreshes the access token once when
        it has expired; raises SessionExpired when the refresh fails too."""
        tokens = await self._current_tokens(session)
        response = await self._send(tokens, method, path, params, body, idempotency_key)
        if response.status_code == 401:
            tokens = await self._refresh(session, stale=tokens)
            response = await self._send(tokens, method, path, params, body, idempotency_key)
            if response.status_code == 401:
                raise SessionExpired
        if response.status_code >= 400:
            raise _error_from(response)
        result = parse_json(response.content)
        return result if isinstance(result, dict) else {"items": result}

    async def call_with_key(self, api_key: str, method: str, path: str) -> httpx.Response:
        """A request made with an API key instead of the session (the key tests)."""
        return await self._http.request(method, path, headers={"X-API-Key": api_key})

    async def fetch_public(self, path: str) -> Json:
        response = await self._http.get(path)
        if response.status_code >= 400:
            raise _error_from(response)
        result = parse_json(response.content)
        return result if isinstance(result, dict) else {}

    async def _send(
        self,
        tokens: ApiTokens,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Json | None,
        idempotency_key: str | None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        if method in {"POST", "PATCH", "DELETE"}:
            headers["Idempotency-Key"] = idempotency_key or _new_key()
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, default=_json_number).encode()
        clean = {k: v for k, v in (params or {}).items() if v not in ("", None)}
        return await self._http.request(method, path, params=clean, content=content, headers=headers)

    async def _current_tokens(self, session: PortalSession) -> ApiTokens:
        if session.tokens is None:
            raise SessionExpired
        if time.monotonic() < session.tokens.refresh_after_s:
            return session.tokens
        return await self._refresh(session, stale=session.tokens)

    async def _refresh(self, session: PortalSession, *, stale: ApiTokens) -> ApiTokens:
        async with session.lock:
            current = session.tokens
            if current is None:
                raise SessionExpired
            if current is not stale:
                # Another request of this session refreshed while this one waited.
                return current
            response = await self._http.post(
                "/api/v1/auth/refresh",
                json={"refresh_token": current.refresh_token},
                headers={"Idempotency-Key": _new_key()},
            )
            if response.status_code != 200:
                session.tokens = None
                raise SessionExpired
            session.tokens = _tokens_from(parse_json(response.content))
            return session.tokens


def _json_number(value: object) -> float:
    # Amounts are validated as decimals with at most the currency's places before they
    # get here; their shortest float form is the same decimal, which the API reads back
    # exactly.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _new_key() -> str:
    return f"portal-{uuid.uuid4()}"
