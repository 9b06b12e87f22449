"""The little of ASGI the gateway needs: a response value, sending it, reading a bounded body.

A raw ASGI app rather than a web framework: every route comes from the descriptor set
and every answer is JSON, so a framework's router, validation and serializers would sit
unused between uvicorn and the transcoder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from corelib.errors import ServiceError

Scope = MutableMapping[str, Any]
AsgiMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]

BODY_BYTES_MAX: Final = 1024 * 1024
# Servers hand the body over in chunks of kilobytes; this only stops a stream of empty
# chunks from holding a request open for ever.
BODY_MESSAGES_MAX: Final = 64 * 1024
# The whole body must arrive within this (a slow or stalled upload holds a connection).
BODY_TIMEOUT_S_DEFAULT: Final = 30


class ClientDisconnected(Exception):
    """The caller went away before its request body arrived; there is no one to answer."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


async def send_response(send: Send, response: HttpResponse, *, request_id: str, head_only: bool) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(response.body)).encode("ascii")),
        (b"x-request-id", request_id.encode("ascii")),
        # Tokens and balances must not sit in shared caches (RFC 6749 §5.1 asks it of
        # the token response; nothing else here is worth caching either).
    ]
    if not any(name == "cache-control" for name, _ in response.headers):
        headers.append((b"cache-control", b"no-store"))
    headers.extend((name.encode("ascii"), value.encode("latin-1")) for name, value in response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else response.body})


def declared_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_body(
    receive: Receive, headers: dict[str, str], *, timeout_s: float = BODY_TIMEOUT_S_DEFAULT
) -> bytes:
    """The whole body, refusing (413) as soon as it is known to exceed BODY_BYTES_MAX,
    and (400) when it has not all arrived within `timeout_s` — the guide has no 408, and
    the request is as unusable as a malformed one."""
    declared = declared_length(headers)
    if declared is not None and declared > BODY_BYTES_MAX:
        raise too_large()
    try:
        async with asyncio.timeout(timeout_s):
            return await _receive_body(receive)
    except TimeoutError:
        raise ServiceError(
            "INVALID_REQUEST",
            f"Request body not received within {timeout_s:g} seconds",
            {"timeoutSeconds": timeout_s},
        ) from None


async def _receive_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for _ in range(BODY_MESSAGES_MAX):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > BODY_BYTES_MAX:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
    raise too_large()


def too_large() -> ServiceError:
    return ServiceError(
        "PAYLOAD_TOO_LARGE",
        f"Request body larger than {BODY_BYTES_MAX} bytes",
        {"maxBytes": BODY_BYTES_MAX},
    )
