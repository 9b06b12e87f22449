"""The Python gateway over the shared error table (tests/edge/error_cases.json).

Each case is a failure of the backend RPC behind a real route, served by the real
GatewayApp through ASGI: the gRPC channel is the only stand-in, so the whole error path
(gateway.backends.error_from_rpc → corelib.errors.decode_status → gateway.envelope) is
what answers. tests/edge/test_lua_filter.py runs Envoy's Lua filter over the same cases.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any, Final

import grpc
import orjson
import pytest
from google.protobuf.message import Message

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


class _FailingChannel:
    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        self._error = error

    def unary_unary(self, method: str, **_: Any) -> Callable[..., Any]:
        error = self._error

        async def call(request: Message, **__: Any) -> Message:
            raise error

        return call


class _FailingBackends(Backends):
    """Real Backends whose channels fail every call with one gRPC status."""

    def __init__(self, error: grpc.aio.AioRpcError) -> None:
        super().__init__(backend_addresses(Settings(), ("auth",)))
        self._error = error

    def channel(self, domain: str) -> Any:
        return _FailingChannel(self._error)


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


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_python_gateway_answers_each_case(case: dict[str, Any]) -> None:
    app = GatewayApp(build_route_table(), _FailingBackends(_rpc_error(case)))
    status, headers, body = await call(
        app,
        ROUTE_METHOD,
        ROUTE_PATH,
        headers=[("x-request-id", REQUEST_ID), ("content-type", "application/json")],
        body=b"{}",
    )
    assert_answer(case, status, headers, body)
