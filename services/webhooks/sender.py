"""One HTTP attempt: POST the signed body, keep the first bytes of the answer, time it.

An httpx Request goes through CheckedTransport (http_transport.py), which resolves the
host itself, checks every address (target_safety) and connects only to a checked one.
Redirects are never followed: a 3xx is a failed attempt like any other non-2xx. The whole
attempt, connect to last byte, is bounded by one timeout, so a receiver that trickles
its answer cannot hold a delivery slot longer than a silent one.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from typing import Final

import httpx

from corelib.timestamps import utc_now
from services.webhooks.attempts import AttemptOutcome
from services.webhooks.http_transport import CheckedTransport
from services.webhooks.target_safety import Resolver, UnsafeTarget, system_resolver

RESPONSE_BYTES_KEPT: Final = 1024
# Read (and discard) up to this much of a larger answer so the connection can be
# reused; beyond it the connection is dropped instead.
RESPONSE_BYTES_DRAINED_MAX: Final = 64 * 1024
ERROR_LENGTH_MAX: Final = 500


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:ERROR_LENGTH_MAX]


def _printable(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a receiver's binary answer is kept readable.
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class WebhookSender:
    def __init__(
        self,
        *,
        timeout_s: float,
        allow_internal_targets: bool,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout_s = timeout_s
        # httpx's Request and Response over our transport, without httpx.AsyncClient:
        # a delivery needs none of its cookies, auth, redirects or environment proxies,
        # and skipping them is a good share of the CPU each attempt costs.
        self._transport = CheckedTransport(
            resolver, allow_internal=allow_internal_targets, ssl_context=ssl_context
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> AttemptOutcome:
        attempted_at = utc_now()
        started = time.perf_counter()
        status_code: int | None = None
        kept = b""
        error = ""
        try:
            async with asyncio.timeout(self._timeout_s):
                request = httpx.Request("POST", url, content=body, headers=dict(headers))
                response = await self._transport.handle_async_request(request)
                try:
                    status_code = response.status_code
                    kept = await _read_bounded(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {round(self._timeout_s * 1000)} ms"
        except UnsafeTarget as exc:
            error = str(exc)[:ERROR_LENGTH_MAX]
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            error = _describe(exc)
        latency_ms = round((time.perf_counter() - started) * 1000)
        if status_code is not None and not error and not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            if 300 <= status_code < 400:
                error += ": redirects are not followed"
        return AttemptOutcome(
            attempted_at=attempted_at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            response_body=_printable(kept),
        )

    async def aclose(self) -> None:
        await self._transport.aclose()


async def _read_bounded(response: httpx.Response) -> bytes:
    kept = b""
    seen = 0
    async for chunk in response.aiter_raw():
        if len(kept) < RESPONSE_BYTES_KEPT:
            kept += chunk[: RESPONSE_BYTES_KEPT - len(kept)]
        seen += len(chunk)
        if seen >= RESPONSE_BYTES_DRAINED_MAX:
            break
    return kept
