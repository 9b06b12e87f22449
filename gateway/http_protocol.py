"""The gateway's HTTP/1.1 connection: uvicorn's httptools protocol, with what it lacks.

uvicorn bounds idle keep-alive connections, but not a request in progress: a client
that sends half a request head, or half a body, and then nothing, held its connection
(and a slot of `limit_concurrency`) for ever; a few thousand such sockets made every
answer, `/healthz` included, a 503. So:

- **Head read timeout.** From the moment a connection opens, and again after each
  response, the next request's line and headers must be complete within
  `head_timeout_s`. If bytes of a request arrived, the caller gets the guide's envelope
  (`400 INVALID_REQUEST`, see README) and the connection closes; a connection that sent
  nothing is closed silently. The clock is not reset by trickled bytes.
- **Body read timeout.** The gateway reads a body within its own bound
  (`gateway.asgi.read_body`, which answers 400 INVALID_REQUEST); once a response is
  sent while the request's body is still unread, the connection closes instead of
  waiting for the rest.
- **Connections per client address.** At most `connections_per_address_max` open
  connections (idle ones included) per address; one more is answered
  `429 RATE_LIMIT_EXCEEDED` and closed, so one client cannot take the slots of all.
- **Unparseable requests** (a NUL in a header, a broken request line) get the envelope,
  `400 INVALID_REQUEST`, instead of uvicorn's plain text.
- **One write per answer.** uvicorn writes a response's head when the app starts it and
  the body when the app sends it: two system calls, two segments on the wire and two
  wake-ups of the caller for every answer. The gateway always sends its whole body
  right after the head, so the head is held and written together with it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from corelib.errors import ServiceError
from corelib.ids import new_id
from gateway.envelope import error_body

log = structlog.get_logger("gateway.connections")

MALFORMED_REQUEST_MESSAGE: Final = "Malformed HTTP request (control characters in a header?)"
HEAD_TIMEOUT_S_DEFAULT: Final = 10
CONNECTIONS_PER_ADDRESS_MAX_DEFAULT: Final = 512


@dataclass
class ConnectionBounds:
    """The bounds, and the open-connection count per client address, shared by every
    connection of one gateway process."""

    head_timeout_s: float = HEAD_TIMEOUT_S_DEFAULT
    connections_per_address_max: int = CONNECTIONS_PER_ADDRESS_MAX_DEFAULT
    open_by_address: Counter[str] = field(default_factory=Counter)

    def admit(self, address: str) -> bool:
        if self.open_by_address[address] >= self.connections_per_address_max:
            return False
        self.open_by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open_by_address[address] -= 1
        if self.open_by_address[address] <= 0:
            del self.open_by_address[address]


def raw_error_response(error: ServiceError) -> bytes:
    """A complete HTTP/1.1 response carrying the envelope, for answers given below ASGI;
    the connection closes after it."""
    request_id = new_id("req")
    body = error_body(error, request_id)
    head = (
        b"content-type: application/json\r\n"
        + b"content-length: "
        + str(len(body)).encode("ascii")
        + b"\r\n"
        + b"x-request-id: "
        + request_id.encode("ascii")
        + b"\r\ncache-control: no-store\r\nconnection: close\r\n\r\n"
    )
    return STATUS_LINE[error.code.http_status] + head + body


class _HeldWrites:
    """Stands in for the transport while uvicorn writes a response's head: keeps it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)


class _HeadFirstWrites:
    """Stands in for the transport while uvicorn writes a response's body: its first
    write carries the held head in front of it."""

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self._transport = transport
        self._head: bytes | None = head

    def write(self, data: bytes) -> None:
        head, self._head = self._head, None
        self._transport.write(head + data if head is not None else data)

    def flush(self) -> None:
        if self._head is not None and not self._transport.is_closing():
            self.write(b"")

    def close(self) -> None:
        # uvicorn closes a connection that is not kept alive right after its body.
        self.flush()
        self._transport.close()


class SingleWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, writing a response's head and its (first) body
    chunk in one system call."""

    _held_head: bytes | None = None

    async def send(self, message: Any) -> None:
        transport = self.transport
        if message["type"] == "http.response.start" and not self.response_started:
            if self.more_body:
                # Answered before the request's body arrived (refused, or too slow): the
                # rest is not worth waiting for, so the connection closes after this
                # answer and its head says so — else a client would send its next
                # request on it.
                self.keep_alive = False
            held = _HeldWrites()
            self.transport = held  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self._held_head = b"".join(held.chunks) if held.chunks else None
            return
        head, self._held_head = self._held_head, None
        if head is None:
            await super().send(message)
            return
        head_first = _HeadFirstWrites(transport, head)
        self.transport = head_first  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
            head_first.flush()


class GatewayHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, bounds: ConnectionBounds, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bounds = bounds
        self._address = ""
        self._admitted = False
        self._head_timer: asyncio.TimerHandle | None = None
        # True from a request's first byte until its headers are complete.
        self._head_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else ""
        if not self._bounds.admit(self._address):
            limit = self._bounds.connections_per_address_max
            log.warning("connection_refused", client=self._address, connections_max=limit)
            refusal = ServiceError(
                "RATE_LIMIT_EXCEEDED",
                f"More than {limit} open connections from one address",
                {"connectionsMax": limit},
            )
            self.transport.write(raw_error_response(refusal))
            self.transport.close()
            return
        self._admitted = True
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._admitted:
            self._admitted = False
            self._bounds.release(self._address)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._head_begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._head_begun = False
        self._cancel_head_timer()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            # Before its task first runs, so every send of this request goes through it.
            cycle.__class__ = SingleWriteCycle

    def on_response_complete(self) -> None:
        # An answer given before its request's body arrived has closed the connection
        # already (SingleWriteCycle.send).
        next_is_queued = bool(self.pipeline)
        super().on_response_complete()
        if not next_is_queued and not self.transport.is_closing():
            self._arm_head_timer()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's text names its parser's complaint; the caller gets the envelope.
        del msg
        self.transport.write(raw_error_response(ServiceError("INVALID_REQUEST", MALFORMED_REQUEST_MESSAGE)))
        self.transport.close()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self._bounds.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_begun:
            timeout_s = self._bounds.head_timeout_s
            log.info("request_head_timeout", client=self._address, timeout_s=timeout_s)
            late = ServiceError(
                "INVALID_REQUEST",
                f"Request headers not received within {timeout_s:g} seconds",
                {"timeoutSeconds": timeout_s},
            )
            self.transport.write(raw_error_response(late))
        self.transport.close()
