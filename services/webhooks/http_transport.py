"""The httpx transport deliveries go through: HTTP/1.1 over asyncio streams, with the
address check of target_safety built into every connect and a small keep-alive pool.

Why not httpx's own transport (httpcore): its pool rescans every connection for every
queued request (and probes each socket), which at a few hundred deliveries per second
to one endpoint costs milliseconds of CPU per request — the dispatcher's whole budget.
This transport keeps, per origin, a stack of idle connections and nothing else; h11
does the HTTP framing, as it does inside httpcore.

Connecting: the host name of the URL is resolved here, every address is checked, and
the socket goes to a checked address, while the Host header, TLS SNI and certificate
verification keep using the name. There is no second lookup for a DNS-rebinding answer
to slip into.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

import h11
import httpx

from services.webhooks.target_safety import Resolver, checked_addresses

READ_CHUNK_BYTES: Final = 64 * 1024
# Idle keep-alive connections kept per origin, and for how long. Receivers commonly close
# idle connections after 5 s (Node, uvicorn); reusing one they just closed costs a retry.
IDLE_CONNECTIONS_PER_ORIGIN_MAX: Final = 32
IDLE_EXPIRY_S: Final = 4.0
ORIGINS_MAX: Final = 4096
ADDRESSES_TRIED_MAX: Final = 4
RESPONSE_HEAD_BYTES_MAX: Final = 64 * 1024
QUICKACK: Final[int | None] = getattr(socket, "TCP_QUICKACK", None)

Origin = tuple[str, str, int]


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0

    def acknowledge_promptly(self) -> None:
        """Many receivers write the status line and the body separately without
        TCP_NODELAY; their second write then waits for our ACK, which Linux delays up to
        40 ms. Quick-ACK mode (Linux only, reset by the kernel, so set before each read)
        removes that wait from every delivery."""
        raw = self.writer.get_extra_info("socket")
        if raw is not None and QUICKACK is not None:
            with contextlib.suppress(OSError):
                raw.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < IDLE_EXPIRY_S
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            and self.protocol.our_state is h11.IDLE
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


def _origin(url: httpx.URL) -> Origin:
    scheme = url.scheme
    port = url.port or (443 if scheme == "https" else 80)
    return scheme, url.host, port


class CheckedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, resolver: Resolver, *, allow_internal: bool, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._resolver = resolver
        self._allow_internal = allow_internal
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._swept_at = time.monotonic()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        body = b"".join([part async for part in request.stream])
        origin = _origin(request.url)
        reused = self._take_idle(origin)
        if reused is not None:
            try:
                return await self._exchange(reused, origin, request, body)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # The receiver closed the idle connection as we reused it; nothing was
                # answered, so try once on a fresh one.
                reused.close()
        connection = await self._connect(origin)
        return await self._exchange(connection, origin, request, body)

    def _take_idle(self, origin: Origin) -> _Connection | None:
        now = time.monotonic()
        if now - self._swept_at > IDLE_EXPIRY_S:
            self._sweep(now)
        stack = self._idle.get(origin)
        found: _Connection | None = None
        while stack and found is None:
            connection = stack.pop()
            if connection.usable(now):
                found = connection
            else:
                connection.close()
        if stack is not None and not stack:
            del self._idle[origin]
        return found

    def _sweep(self, now: float) -> None:
        """Closes idle connections past their expiry, so endpoints that went quiet do not
        keep sockets open here (or half-closed ones in CLOSE_WAIT)."""
        self._swept_at = now
        for origin in list(self._idle):
            kept = []
            for connection in self._idle[origin]:
                if connection.usable(now):
                    kept.append(connection)
                else:
                    connection.close()
            if kept:
                self._idle[origin] = kept
            else:
                del self._idle[origin]

    def _release(self, origin: Origin, connection: _Connection) -> None:
        if connection.protocol.our_state is h11.DONE and connection.protocol.their_state is h11.DONE:
            connection.protocol.start_next_cycle()
            if origin not in self._idle and len(self._idle) >= ORIGINS_MAX:
                self._sweep(time.monotonic())
            stack = self._idle.get(origin)
            if stack is None and len(self._idle) < ORIGINS_MAX:
                stack = self._idle[origin] = []
            if stack is not None and len(stack) < IDLE_CONNECTIONS_PER_ORIGIN_MAX:
                connection.idle_since = time.monotonic()
                stack.append(connection)
                return
        connection.close()

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        addresses = await checked_addresses(host, port, self._resolver, allow_internal=self._allow_internal)
        tls = self._ssl_context if scheme == "https" else None
        failure: Exception | None = None
        for address in addresses[:ADDRESSES_TRIED_MAX]:
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=tls, server_hostname=host if tls else None, limit=READ_CHUNK_BYTES
                )
            except ssl.SSLError as exc:
                raise httpx.ConnectError(f"TLS handshake with {host} failed: {exc}") from exc
            except OSError as exc:
                failure = exc
                continue
            raw = writer.get_extra_info("socket")
            if raw is not None:
                # Request line, headers and body go out in one write, and nothing waits
                # on Nagle's algorithm for the receiver's delayed ACK.
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Connection(reader, writer)
        raise httpx.ConnectError(f"cannot connect to {host}:{port}: {failure}")

    async def _exchange(
        self, connection: _Connection, origin: Origin, request: httpx.Request, body: bytes
    ) -> httpx.Response:
        protocol = connection.protocol
        try:
            head = protocol.send(
                h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
            )
            connection.writer.write(
                head + protocol.send(h11.Data(data=body)) + protocol.send(h11.EndOfMessage())
            )
            await connection.writer.drain()
        except (OSError, h11.LocalProtocolError) as exc:
            connection.close()
            raise httpx.WriteError(str(exc)) from exc
        try:
            response = await self._read_head(connection)
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=list(response.headers),
            stream=_ResponseBody(self, origin, connection),
            request=request,
        )

    async def _read_head(self, connection: _Connection) -> h11.Response:
        received = 0
        while True:
            event = _next_event(connection)
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse):
                continue
            if event is h11.NEED_DATA:
                received += await _feed(connection)
                if received > RESPONSE_HEAD_BYTES_MAX:
                    raise httpx.RemoteProtocolError("response head too large")
                continue
            raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")

    async def aclose(self) -> None:
        for stack in self._idle.values():
            for connection in stack:
                connection.close()
        self._idle.clear()


def _next_event(connection: _Connection) -> object:
    try:
        return connection.protocol.next_event()
    except h11.RemoteProtocolError as exc:
        raise httpx.RemoteProtocolError(str(exc)) from exc


async def _feed(connection: _Connection) -> int:
    connection.acknowledge_promptly()
    try:
        data = await connection.reader.read(READ_CHUNK_BYTES)
    except (OSError, ssl.SSLError) as exc:
        raise httpx.ReadError(str(exc)) from exc
    if not data and connection.protocol.their_state is h11.SEND_RESPONSE:
        raise httpx.RemoteProtocolError("server closed the connection without answering")
    connection.protocol.receive_data(data)
    return len(data)


class _ResponseBody(httpx.AsyncByteStream):
    """The answer's body; the connection goes back to the pool once it is read whole."""

    def __init__(self, transport: CheckedTransport, origin: Origin, connection: _Connection) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: _Connection | None = connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        while True:
            event = _next_event(connection)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._connection = None
                self._transport._release(self._origin, connection)
                return
            elif event is h11.NEED_DATA:
                await _feed(connection)
            elif isinstance(event, h11.ConnectionClosed):
                self._connection = None
                connection.close()
                return
            else:
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in the response body")

    async def aclose(self) -> None:
        # Closed before the end: the rest of the body is unread, so the connection
        # cannot carry another request.
        if self._connection is not None:
            self._connection.close()
            self._connection = None
