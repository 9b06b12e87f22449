"""The load generator's HTTP client against a real loopback server: keep-alive reuse,
bodies read by Content-Length, a connection the server closed, and loopback only."""

from __future__ import annotations

import asyncio

import pytest

from bench.keepalive_http import KeepAliveClient
from bench.report import Row


async def _server(connections: list[int], *, close_after: int = 0) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        served = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            body = await reader.readexactly(length)
            reply = b'{"echo": %d, "path": "%s"}' % (len(body), head.split(b" ")[1])
            writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n%s" % (len(reply), reply))
            await writer.drain()
            served += 1
            if close_after and served >= close_after:
                break
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


async def test_requests_share_one_keep_alive_connection() -> None:
    connections: list[int] = []
    server = await _server(connections)
    port = server.sockets[0].getsockname()[1]
    async with KeepAliveClient(f"http://127.0.0.1:{port}") as client:
        first = await client.post("/api/v1/transactions", json={"amount": 1.0})
        second = await client.get("/api/v1/accounts", params={"pageSize": 5})
    server.close()
    assert first.status_code == 201 and first.json() == {
        "echo": len(b'{"amount":1.0}'),
        "path": "/api/v1/transactions",
    }
    assert second.json()["path"] == "/api/v1/accounts?pageSize=5"
    assert len(connections) == 1


async def test_a_connection_the_server_closed_is_opened_anew() -> None:
    connections: list[int] = []
    server = await _server(connections, close_after=1)
    port = server.sockets[0].getsockname()[1]
    async with KeepAliveClient(f"http://127.0.0.1:{port}") as client:
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 201
    server.close()
    assert len(connections) == 3


def test_only_loopback_is_loaded() -> None:
    with pytest.raises(ValueError, match="only loads"):
        KeepAliveClient("http://10.0.0.1:8080")


def test_engine_cpu_per_operation_leaves_out_the_load_generator() -> None:
    row = Row(
        scenario="rtp_payments",
        variant="spread",
        clients=32,
        ops=100,
        ops_per_s=200.0,
        latency=None,
        errors=0,
        baseline_tps=None,
        cpu_percent={"gateway": 20.0, "postgres": 30.0, "bench": 50.0, "others": 90.0},
    )
    assert row.engine_cpu_ms_per_op == pytest.approx(2.5)


async def test_a_chunked_answer_is_read_whole() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n[1, 2\r\n4\r\n, 3]\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with KeepAliveClient(f"http://127.0.0.1:{port}") as client:
        response = await client.get("/events")
    server.close()
    assert response.json() == [1, 2, 3]
