"""The Python gateway over the shared error table (tests/edge/error_cases.json).

Each case is a failure of the backend RPC behind a real route, served by the real
GatewayApp through ASGI: the gRPC channel is the only stand-in, so the whole error path
(gateway.backends.error_from_rpc → corelib.errors.decode_status → gateway.envelope) is
what answers. Each case runs twice: as the failure of a unary call (a backend without
the call tunnel), and as the same failure carried back in the call tunnel (the real
corelib.call_tunnel_client over a stand-in stream). tests/edge/test_lua_filter.py runs
Envoy's Lua filter over the same cases.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
import orjson
import pytest
from google.protobuf.message import Message
from payment_engine_protos.common.v1 import call_tunnel_pb2

from corelib.call_tunnel import TUNNEL_METHOD
from corelib.config import Settings
from gateway.app import GatewayApp
from gateway.backends import Backends, backend_addresses
from gateway.routes import build_route_table
from tests.edge.asgi_client import call
from tests.edge.error_table import encode_status, load_cases, same_status

CASES: Final = load_cases()
REQUEST_ID: Final = "req_shared_table"
# A public route, so no auth call stands between the request and the failing RPC.
ROUTE_METHOD: Final = "POST"
ROUTE_PATH: Final = "/api/v1/auth/login"
RFC3339_UTC: Final = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _status_code(number: int) -> grpc.StatusCode:
    return next(code for code in grpc.StatusCode if code.value[0] == number)


class _TunnelStream:
    """An Exchange stream that answers every call with the error, as a tunnel carries a
    failure back; or, `without_tunnel`, the UNIMPLEMENTED of a service that has none."""

    def __init__(self, error: grpc.aio.AioRpcError, *, without_tunnel: bool) -> None:
        self._error = error
        self._without_tunnel = without_tunnel
        self._frames: asyncio.Queue[call_tunnel_pb2.ExchangeResponse] = asyncio.Queue()

    async def write(self, frame: call_tunnel_pb2.ExchangeRequest) -> None:
        trailers = self._error.trailing_metadata() or ()
        details = next((v for k, v in trailers if k == "grpc-status-details-bin"), b"")
        assert isinstance(details, bytes)
        results = [
            call_tunnel_pb2.TunneledResult(
                call_id=call.call_id,
                code=self._error.code().value[0],
                message=self._error.details() or "",
                status_details=details,
            )
            for call in frame.calls
        ]
        self._frames.put_nowait(call_tunnel_pb2.ExchangeResponse(results=results))

    def __aiter__(self) -> AsyncIterator[call_tunnel_pb2.ExchangeResponse]:
        return self._answers()

    async def _answers(self) -> AsyncIterator[call_tunnel_pb2.ExchangeResponse]:
        if self._without_tunnel:
            raise grpc.aio.AioRpcError(
                code=grpc.StatusCode.UNIMPLEMENTED,
                initial_metadata=grpc.aio.Metadata(),
                trailing_metadata=grpc.aio.Metadata(),
                details="Method not found!",
            )
        while True:
            yield await self._frames.get()

    def cancel(self) -> bool:
        return True


class _FailingChannel:
    def __init__(self, error: grpc.aio.AioRpcError, *, without_tunnel: bool) -> None:
        self._error = error
        self._without_tunnel = without_tunnel
        self.unary_calls = 0

    def unary_unary(self, method: str, **_: Any) -> Callable[..., Any]:
        error = self._error

        async def call(request: Message, **__: Any) -> Message:
            self.unary_calls += 1
            raise error

        return call

    def stream_stream(self, method: str, **_: Any) -> Callable[..., Any]:
        assert method == TUNNEL_METHOD
        return lambda: _TunnelStream(self._error, without_tunnel=self._without_tunnel)


class _FailingBackends(Backends):
    """Real Backends whose channels fail every call with one gRPC status."""

    def __init__(self, error: grpc.aio.AioRpcError, *, without_tunnel: bool) -> None:
        super().__init__(backend_addresses(Settings(), ("auth",)))
        self.failing_channel = _FailingChannel(error, without_tunnel=without_tunnel)

    def channel(self, domain: str) -> Any:
        return self.failing_channel


def _rpc_error(case: dict[str, Any]) -> grpc.aio.AioRpcError:
    trailing = []
    if case["statusDetailsBin"] is not None:
        trailing.append(("grpc-status-details-bin", base64.b64decode(case["statusDetailsBin"])))
    return grpc.aio.AioRpcError(
        code=_status_code(case["grpcStatus"]),
        initial_metadata=grpc.aio.Metadata(),
        trailing_metadata=grpc.aio.Metadata(*trailing),
        details=case["grpcMessage"],
    )


def assert_answer(case: dict[str, Any], status: int, headers: dict[str, str], body: bytes) -> None:
    """The expectation of one case, shared with the Lua test."""
    expect = case["expect"]
    envelope = orjson.loads(body)
    assert status == expect["httpStatus"], envelope
    assert set(envelope) == {"error"}
    error = envelope["error"]
    assert set(error) == {"code", "message", "details", "timestamp", "requestId"}
    assert error["code"] == expect["code"]
    assert error["message"] == expect["message"]
    assert error["details"] == expect["details"]
    assert error["requestId"] == REQUEST_ID
    assert RFC3339_UTC.match(error["timestamp"]), error["timestamp"]
    assert headers.get("retry-after") == expect["retryAfter"]
    assert headers.get("x-request-id") == REQUEST_ID
    assert headers.get("content-type") == "application/json"
    assert headers.get("cache-control") == "no-store"


def test_the_table_covers_every_guide_status() -> None:
    statuses = {case["expect"]["httpStatus"] for case in CASES}
    assert {400, 401, 403, 404, 409, 422, 429, 500, 503} <= statuses


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_readable_status_matches_the_bytes(case: dict[str, Any]) -> None:
    if case["status"] is None:
        assert case["statusDetailsBin"] is None or case.get("note"), (
            "raw bytes need a note saying what they are"
        )
        return
    assert same_status(base64.b64decode(case["statusDetailsBin"]), encode_status(case["status"]))
    assert case["status"]["code"] == case["grpcStatus"]


@pytest.mark.parametrize("without_tunnel", [True, False], ids=["unary", "tunnelled"])
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_python_gateway_answers_each_case(case: dict[str, Any], without_tunnel: bool) -> None:
    backends = _FailingBackends(_rpc_error(case), without_tunnel=without_tunnel)
    app = GatewayApp(build_route_table(), backends)
    try:
        for _ in range(2):
            status, headers, body = await call(
                app,
                ROUTE_METHOD,
                ROUTE_PATH,
                headers=[("x-request-id", REQUEST_ID), ("content-type", "application/json")],
                body=b"{}",
            )
            assert_answer(case, status, headers, body)
        # Each failure came the way the case says: not a unary call made behind the tunnel.
        assert backends.failing_channel.unary_calls == (2 if without_tunnel else 0)
    finally:
        await backends.close()
