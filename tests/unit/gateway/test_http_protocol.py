"""The gateway's connection writes each answer — head and body — in one system call.

A real uvicorn server runs the gateway's protocol over a loopback socket; the transport
each connection gets is wrapped to record its writes, and a plain socket client reads
what arrives."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import uvicorn

from gateway.asgi import HttpResponse, send_response
from gateway.http_protocol import ConnectionBounds, GatewayHttpProtocol
from tests.harness.uvicorn_server import uvicorn_serving

BODY: Final = b'{"status":"ok","padding":"' + b"x" * 300 + b'"}'
READ_TIMEOUT_S: Final = 10.0


class _RecordedTransport:
    """The connection's real transport, with a list of what was written to it."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _RecordingProtocol(GatewayHttpProtocol):
    writes: list[bytes] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_RecordedTransport(transport, self.writes))  # type: ignore[arg-type]


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/answers-before-the-body":
        # As the gateway refuses a body too large or too slow: without reading it.
        await send_response(send, HttpResponse(413, BODY, ()), request_id="req_test", head_only=False)
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    if scope["path"] == "/fails-after-head":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("the app failed after starting its answer")
    answer = HttpResponse(201 if scope["method"] == "POST" else 200, BODY, (("etag", '"v1"'),))
    await send_response(send, answer, request_id="req_test", head_only=scope["method"] == "HEAD")


@asynccontextmanager
async def _server() -> AsyncIterator[tuple[int, list[bytes]]]:
    writes: list[bytes] = []
    protocol = type("Recording", (_RecordingProtocol,), {"writes": writes})
    config = uvicorn.Config(
        _app,
        http=functools.partial(protocol, bounds=ConnectionBounds()),  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    async with uvicorn_serving(config) as port:
        yield port, writes


async def _exchange(port: int, request: bytes, answers: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    received = b""
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            while received.count(b"HTTP/1.1 ") < answers or not received.endswith((BODY, b"\r\n\r\n")):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += chunk
    finally:
        writer.close()
    return received


def _get(path: str = "/", method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode()


async def test_an_answer_goes_out_in_one_write_with_its_head_and_body() -> None:
    async with _server() as (port, writes):
        received = await _exchange(port, _get(), 1)
    assert len(writes) == 1, writes
    assert writes[0] == received
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: %d" % len(BODY) in head
    assert b'etag: "v1"' in head
    assert body == BODY


async def test_pipelined_requests_are_answered_in_order_one_write_each() -> None:
    post = b"POST /things HTTP/1.1\r\nhost: test\r\ncontent-length: 2\r\n\r\n{}"
    async with _server() as (port, writes):
        received = await _exchange(port, _get() + post + _get(), 3)
    assert len(writes) == 3, writes
    assert b"".join(writes) == received
    assert [write.split(b"\r\n", 1)[0] for write in writes] == [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 201 Created",
        b"HTTP/1.1 200 OK",
    ]
    assert all(write.endswith(BODY) for write in writes)


async def test_an_answer_that_closes_the_connection_is_written_whole_first() -> None:
    request = b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"
    async with _server() as (port, writes):
        received = await _exchange(port, request, 1)
    assert len(writes) == 1
    assert received == writes[0]
    assert b"connection: close" in received
    assert received.endswith(BODY)


async def test_a_head_request_gets_its_head_alone() -> None:
    async with _server() as (port, writes):
        received = await _exchange(port, _get(method="HEAD"), 1)
    assert len(writes) == 1
    assert received == writes[0]
    assert received.endswith(b"\r\n\r\n")
    assert b"content-length: %d" % len(BODY) in received


async def test_an_answer_started_and_abandoned_closes_the_connection() -> None:
    async with _server() as (port, _writes):
        received = await _exchange(port, _get("/fails-after-head"), 1)
    # No half answer: the caller sees the connection end and retries as for any drop.
    assert received == b""


async def test_an_answer_given_before_the_body_arrived_closes_the_connection_and_says_so() -> None:
    """The rest of the body is never read, so the connection cannot carry another
    request: the answer must say it closes, or a client sends its next request on it and
    has it reset."""
    request = (
        b"POST /answers-before-the-body HTTP/1.1\r\nhost: test\r\ncontent-length: 100000\r\n\r\n"
        + b"x" * 1000
    )
    async with _server() as (port, _writes):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        received = b""
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                while chunk := await reader.read(65536):
                    received += chunk
        finally:
            writer.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in head.split(b"\r\n")
    # The whole answer, then the end of the connection (the loop above read until it).
    assert body == BODY
