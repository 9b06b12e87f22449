"""Half-open requests cannot hold the gateway (issue: 4,200 sockets that never finished
their headers made every answer, /healthz included, a 503).

A private engine with short read bounds takes hundreds of half-open connections from
other loopback addresses — request heads cut off mid-header, bodies cut off after a few
bytes, connections that send nothing — and one address over its connection cap. While
they are held, an ordinary client is served. Then every half-open connection is ended
by the gateway: a cut-off request gets the guide's envelope (400 INVALID_REQUEST), a
silent connection is closed, and connections over the cap get 429. No timing is
asserted beyond generous socket timeouts.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness.engine import EngineHandle

HEAD_TIMEOUT_S: Final = 6
BODY_TIMEOUT_S: Final = 6
CONNECTIONS_PER_ADDRESS_MAX: Final = 120
HALF_OPEN_PER_KIND: Final = 100
OVER_CAP: Final = 5
# Half-open clients come from other loopback addresses than the ordinary one (127.0.0.1).
PARTIAL_HEAD_SOURCE: Final = "127.0.0.2"
PARTIAL_BODY_SOURCE: Final = "127.0.0.3"
SILENT_SOURCE: Final = "127.0.0.4"
CAPPED_SOURCE: Final = "127.0.0.5"
# Generous: the gateway's bounds are a few seconds; nothing here measures them.
SOCKET_TIMEOUT_S: Final = 60.0
RESPONSE_BYTES_MAX: Final = 64 * 1024
ORDINARY_TIMEOUT_S: Final = 10.0


@pytest.fixture
def engine(engine_stack_factory: Any) -> EngineHandle:
    handle: EngineHandle = engine_stack_factory(
        extra_env={
            "PE_GATEWAY_HEAD_TIMEOUT_S": str(HEAD_TIMEOUT_S),
            "PE_GATEWAY_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "PE_GATEWAY_CONNECTIONS_PER_ADDRESS_MAX": str(CONNECTIONS_PER_ADDRESS_MAX),
        }
    )
    return handle


def _open(exits: ExitStack, engine: EngineHandle, source: str, first_bytes: bytes) -> socket.socket:
    address = urlsplit(engine.base_url)
    conn = exits.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    conn.settimeout(SOCKET_TIMEOUT_S)
    conn.bind((source, 0))
    conn.connect((address.hostname, address.port))
    if first_bytes:
        conn.sendall(first_bytes)
    return conn


def _until_closed(conn: socket.socket) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    received = b""
    while len(received) < RESPONSE_BYTES_MAX:
        chunk = conn.recv(4096)
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the gateway kept sending: {received[:300]!r}")


def _error_code(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, str(json.loads(body)["error"]["code"])


@pytest.fixture
def ordinary(engine: EngineHandle) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": engine.credentials.api_key}
    with httpx.Client(base_url=engine.base_url, headers=headers, timeout=ORDINARY_TIMEOUT_S) as client:
        yield client


def test_half_open_requests_do_not_hold_the_gateway(engine: EngineHandle, ordinary: httpx.Client) -> None:
    api_key = engine.credentials.api_key
    partial_head = b"GET /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\nX-Api-Key: " + api_key.encode()[:8]
    partial_body = (
        f"POST /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\nX-API-Key: {api_key}\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name": "'
    ).encode()
    with ExitStack() as exits:
        heads = [_open(exits, engine, PARTIAL_HEAD_SOURCE, partial_head) for _ in range(HALF_OPEN_PER_KIND)]
        bodies = [_open(exits, engine, PARTIAL_BODY_SOURCE, partial_body) for _ in range(HALF_OPEN_PER_KIND)]
        silent = [_open(exits, engine, SILENT_SOURCE, b"") for _ in range(HALF_OPEN_PER_KIND)]
        capped = [
            _open(exits, engine, CAPPED_SOURCE, b"") for _ in range(CONNECTIONS_PER_ADDRESS_MAX + OVER_CAP)
        ]

        # Hundreds of connections are half-open; an ordinary client is still served.
        assert ordinary.get("/healthz").status_code == 200
        listed = ordinary.get("/api/v1/accounts")
        assert listed.status_code == 200, listed.text
        created = ordinary.post("/api/v1/accounts", json={"name": "Served", "currencyCode": "USD"})
        assert created.status_code == 201, created.text

        # Every half-open request is ended by the gateway, with the envelope if it began.
        for conn in heads:
            assert _error_code(_until_closed(conn)) == (400, "INVALID_REQUEST")
        for conn in bodies:
            assert _error_code(_until_closed(conn)) == (400, "INVALID_REQUEST")
        for conn in silent:
            assert _until_closed(conn) == b""
        answers = [_until_closed(conn) for conn in capped]
        refused = [answer for answer in answers if answer]
        assert len(refused) == OVER_CAP
        assert all(_error_code(answer) == (429, "RATE_LIMIT_EXCEEDED") for answer in refused)

    # And the gateway is whole afterwards.
    assert ordinary.get("/api/v1/accounts").status_code == 200


def test_a_slow_body_is_answered_with_the_envelope(engine: EngineHandle) -> None:
    with ExitStack() as exits:
        conn = _open(
            exits,
            engine,
            "127.0.0.1",
            (
                "POST /api/v1/accounts HTTP/1.1\r\nHost: gateway\r\n"
                f"X-API-Key: {engine.credentials.api_key}\r\n"
                "Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{"
            ).encode(),
        )
        answer = _until_closed(conn)
    assert _error_code(answer) == (400, "INVALID_REQUEST")
    assert b"Request body not received within" in answer
