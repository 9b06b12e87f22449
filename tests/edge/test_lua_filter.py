"""Envoy's Lua filters, run under LuaJIT over a stub of Envoy's stream handle.

The shared error table (tests/edge/error_cases.json) is checked with the same assertions
the Python gateway passes (tests/edge/test_error_table_python.py), in both shapes a
failed call reaches the filter after the transcoder. Envoy's own local replies (no
route, wrong method, body too large) are compared with what the Python gateway answers
to the same request.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from corelib.config import Settings
from gateway.app import GatewayApp
from gateway.asgi import BODY_BYTES_MAX
from gateway.backends import Backends, backend_addresses
from gateway.headers import REQUEST_ID_LENGTH_MAX, request_id_from
from gateway.routes import build_route_table
from tests.edge.asgi_client import call
from tests.edge.envoy_support import load_yaml, match_route, routes
from tests.edge.error_table import load_cases
from tests.edge.lua_runner import headers_of, run_filter
from tests.edge.test_error_table_python import REQUEST_ID, ROUTE_METHOD, ROUTE_PATH, assert_answer

EDGE: Final = "envoy.filters.http.lua"
SUBJECT: Final = "payment_engine.rate_limit_subject"
CASES: Final = load_cases()
# The HTTP status the transcoder gives a gRPC code (Envoy's grpcToHttpStatus); the
# filter must not rely on it.
TRANSCODER_STATUS: Final = "503"


def _grpc_message_header(text: str) -> str:
    # gRPC over HTTP/2: percent-encode bytes outside printable ASCII, and '%'.
    return "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}" for byte in text.encode()
    )


def _request(
    method: str = ROUTE_METHOD, path: str = ROUTE_PATH, request_id: str | None = REQUEST_ID
) -> list[list[str]]:
    headers = [[":method", method], [":path", path]]
    if request_id is not None:
        headers.append(["x-request-id", request_id])
    return headers


def _lua_cases_from_table() -> list[dict[str, Any]]:
    lua_cases = []
    for case in CASES:
        grpc_headers = [
            ["grpc-status", str(case["grpcStatus"])],
            ["grpc-message", _grpc_message_header(case["grpcMessage"])],
        ]
        details = []
        if case["statusDetailsBin"] is not None:
            # gRPC sends -bin values as unpadded base64.
            details = [["grpc-status-details-bin", case["statusDetailsBin"].rstrip("=")]]
        lua_cases.append(
            {
                "name": "trailers-only: " + case["name"],
                "request_headers": _request(),
                "response_headers": [
                    [":status", TRANSCODER_STATUS],
                    ["content-type", "application/grpc"],
                    *grpc_headers,
                    *details,
                ],
            }
        )
        lua_cases.append(
            {
                "name": "headers then trailers: " + case["name"],
                "request_headers": _request(),
                "response_headers": [
                    [":status", TRANSCODER_STATUS],
                    ["content-type", "application/json"],
                    *grpc_headers,
                ],
                "response_trailers": [*grpc_headers, *details],
                "response_body": "",
            }
        )
    return lua_cases


def test_lua_filter_answers_the_shared_table(tmp_path: Path) -> None:
    results = run_filter(EDGE, _lua_cases_from_table(), tmp_path)
    for case in CASES:
        for shape in ("trailers-only: ", "headers then trailers: "):
            result = results[shape + case["name"]]
            assert result["ok"], result.get("error")
            headers = headers_of(result["response_headers"])
            assert_answer(case, int(headers[":status"]), headers, result["body"].encode())
            leftovers = [name for name in headers if name.startswith("grpc-")]
            leftovers += [
                name for name, _ in result.get("response_trailers") or [] if name == "grpc-status-details-bin"
            ]
            assert leftovers == [], f"{case['name']}: gRPC headers leak to the caller"


def test_the_shared_table_fails_the_filter_when_it_is_wrong(tmp_path: Path) -> None:
    # The check above must be able to fail: a case with a wrong expectation does.
    wrong = json.loads(json.dumps(CASES[0]))
    wrong["expect"]["httpStatus"] = 418
    results = run_filter(EDGE, _lua_cases_from_table()[:1], tmp_path)
    result = next(iter(results.values()))
    headers = headers_of(result["response_headers"])
    with pytest.raises(AssertionError):
        assert_answer(wrong, int(headers[":status"]), headers, result["body"].encode())


REQUEST_IDS: Final = [
    "req_from_caller",
    "a" * REQUEST_ID_LENGTH_MAX,
    "a" * (REQUEST_ID_LENGTH_MAX + 1),
    "has space",
    "tab\tinside",
    "ünïcode",
    "",
    "0b3e2a7c-5c1d-4a8e-9f53-2b8b8f7e3c11",
]


def test_request_ids_are_kept_or_replaced_as_the_python_gateway_does(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        {
            "name": f"id {index}",
            "request_headers": _request(request_id=value),
            "response_headers": [[":status", "200"], ["grpc-status", "0"]],
        }
        for index, value in enumerate(REQUEST_IDS)
    ]
    results = run_filter(EDGE, cases, tmp_path)
    for index, value in enumerate(REQUEST_IDS):
        result = results[f"id {index}"]
        sent = headers_of(result["request_headers"])["x-request-id"]
        answered = headers_of(result["response_headers"])["x-request-id"]
        assert sent == answered
        python_keeps = request_id_from({"x-request-id": value}) == value
        assert (sent == value) == python_keeps, value
        if not python_keeps:
            assert sent.startswith("req_") and len(sent) == len("req_") + 26


def test_clients_cannot_assert_a_principal_or_a_rate_limit_subject(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        {
            "name": "forged",
            "request_headers": [
                *_request(),
                ["x-pe-principal", "forged.jwt.here"],
                ["x-pe-rate-limit-subject", "usr_victim"],
            ],
        }
    ]
    request = headers_of(run_filter(EDGE, cases, tmp_path)["forged"]["request_headers"])
    assert "x-pe-principal" not in request
    assert "x-pe-rate-limit-subject" not in request


def test_creates_answer_201_only_on_success(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        {
            "name": "created",
            "request_headers": _request(),
            "response_headers": [[":status", "200"]],
            "route_metadata": {"success_status": 201},
        },
        {"name": "plain", "request_headers": _request(), "response_headers": [[":status", "200"]]},
        {
            "name": "failed create",
            "request_headers": _request(),
            "response_headers": [[":status", "400"], ["grpc-status", "3"]],
            "route_metadata": {"success_status": 201},
        },
    ]
    results = run_filter(EDGE, cases, tmp_path)
    assert headers_of(results["created"]["response_headers"])[":status"] == "201"
    assert headers_of(results["plain"]["response_headers"])[":status"] == "200"
    assert headers_of(results["failed create"]["response_headers"])[":status"] == "400"
    assert headers_of(results["created"]["response_headers"])["cache-control"] == "no-store"


def _envelope_without_time(body: bytes | str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(body)
    document["error"].pop("timestamp")
    return document


class _NoBackends(Backends):
    def channel(self, domain: str) -> Any:
        raise AssertionError("a local reply must not call a service")


# Requests Envoy answers itself, with the local reply Envoy's router or filters make.
LOCAL_REPLIES: Final = [
    ("GET", "/api/v1/nope?x=1", 404, b"", []),
    ("GET", "/api/v1/accounts/abc/%C3%A9t%C3%A9", 404, b"", []),
    ("PUT", "/api/v1/accounts", 405, b"", []),
    ("GET", "/api/v1/accounts/acc_1:freeze", 405, b"", []),
    (
        "POST",
        "/api/v1/accounts",
        413,
        b"Request rejected because the transcoder's internal buffer size exceeds the configured limit",
        [["content-length", str(BODY_BYTES_MAX + 1)]],
    ),
]


async def test_local_replies_match_the_python_gateway(tmp_path: Path) -> None:
    envoy_routes = routes(load_yaml())
    lua_cases = []
    for index, (method, path, status, body, extra) in enumerate(LOCAL_REPLIES):
        route = match_route(envoy_routes, method, path)
        assert route is not None
        if status != 413:
            # 413 comes from the transcoder on a real route; the others are the router's.
            assert route["direct_response"]["status"] == status
        added = [
            [entry["header"]["key"], entry["header"]["value"]]
            for entry in (route or {}).get("response_headers_to_add", [])
        ]
        lua_cases.append(
            {
                "name": f"local {index}",
                "request_headers": [*_request(method, path), *extra],
                "response_headers": [[":status", str(status)], ["content-type", "text/plain"], *added],
                "response_body": body.decode(),
            }
        )
    results = run_filter(EDGE, lua_cases, tmp_path)
    app = GatewayApp(build_route_table(), _NoBackends(backend_addresses(Settings(), ("auth",))))
    for index, (method, path, _, _, extra) in enumerate(LOCAL_REPLIES):
        python_status, python_headers, python_body = await call(
            app,
            method,
            path,
            headers=[("x-request-id", REQUEST_ID), *[(name, value) for name, value in extra]],
        )
        result = results[f"local {index}"]
        headers = headers_of(result["response_headers"])
        assert int(headers[":status"]) == python_status, (method, path)
        assert _envelope_without_time(result["body"]) == _envelope_without_time(python_body), (method, path)
        assert headers.get("allow") == python_headers.get("allow")


def test_upstream_failures_and_denials(tmp_path: Path) -> None:
    envelope = json.dumps(
        {
            "error": {
                "code": "UNAUTHORIZED",
                "message": "Invalid API key",
                "details": {},
                "timestamp": "2024-01-15T10:30:00.000Z",
                "requestId": REQUEST_ID,
            }
        }
    )
    cases: list[dict[str, Any]] = [
        {
            "name": "no healthy upstream",
            "request_headers": _request(),
            "response_headers": [[":status", "503"]],
            "response_body": "no healthy upstream",
        },
        {
            "name": "upstream timeout",
            "request_headers": _request(),
            "response_headers": [[":status", "504"]],
            "response_body": "upstream request timeout",
        },
        {
            "name": "auth service down",
            "request_headers": _request(),
            "response_headers": [[":status", "503"]],
        },
        {
            "name": "bad json",
            "request_headers": _request(),
            "response_headers": [[":status", "400"]],
            "response_body": "Unexpected token.\n{]\n ^",
        },
        {
            "name": "denied",
            "request_headers": _request(),
            "response_headers": [[":status", "401"], ["content-type", "application/json"]],
            "response_body": envelope,
        },
    ]
    results = run_filter(EDGE, cases, tmp_path)
    for name in ("no healthy upstream", "upstream timeout", "auth service down"):
        error = orjson.loads(results[name]["body"])["error"]
        assert (headers_of(results[name]["response_headers"])[":status"], error["code"]) == (
            "503",
            "SERVICE_UNAVAILABLE",
        )
        assert error["message"] == "Service temporarily unavailable"
    bad = orjson.loads(results["bad json"]["body"])["error"]
    assert bad["code"] == "INVALID_REQUEST" and bad["message"].startswith("Unexpected token")
    # ext_authz denials are the auth service's envelopes already: passed through as sent.
    assert results["denied"]["body"] == envelope
    assert headers_of(results["denied"]["response_headers"])["x-request-id"] == REQUEST_ID


def test_rate_limit_headers_show_the_tightest_bucket(tmp_path: Path) -> None:
    # Both local rate limiters report their bucket (address first, then credential).
    limiter_headers = [
        ["x-ratelimit-limit", "1200"],
        ["x-ratelimit-remaining", "1100"],
        ["x-ratelimit-reset", "40"],
        ["x-ratelimit-limit", "600"],
        ["x-ratelimit-remaining", "0"],
        ["x-ratelimit-reset", "17"],
    ]
    cases: list[dict[str, Any]] = [
        {
            "name": "allowed",
            "request_headers": _request(),
            "response_headers": [[":status", "200"], *limiter_headers],
        },
        {
            "name": "limited",
            "request_headers": _request(),
            "response_headers": [[":status", "429"], ["x-envoy-ratelimited", "true"], *limiter_headers],
            "response_body": "local_rate_limited",
        },
        {
            "name": "limited without headers",
            "request_headers": _request(),
            "response_headers": [[":status", "429"]],
            "response_body": "local_rate_limited",
        },
    ]
    results = run_filter(EDGE, cases, tmp_path)
    allowed = headers_of(results["allowed"]["response_headers"])
    assert (allowed["ratelimit-limit"], allowed["ratelimit-remaining"], allowed["ratelimit-reset"]) == (
        "600",
        "0",
        "17",
    )
    assert "retry-after" not in allowed
    assert not [name for name in allowed if name.startswith("x-ratelimit")]
    limited = headers_of(results["limited"]["response_headers"])
    assert limited[":status"] == "429" and limited["retry-after"] == "17"
    error = orjson.loads(results["limited"]["body"])["error"]
    assert (error["code"], error["message"], error["requestId"]) == (
        "RATE_LIMIT_EXCEEDED",
        "Too many requests",
        REQUEST_ID,
    )
    bare = headers_of(results["limited without headers"]["response_headers"])
    assert bare["retry-after"] == "60"


def _jwt(claims: dict[str, Any]) -> str:
    def encode(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).decode().rstrip("=")

    return ".".join(
        (encode(b'{"alg":"EdDSA","kid":"k1"}'), encode(json.dumps(claims).encode()), encode(b"signature"))
    )


def test_rate_limit_subject_is_the_asserted_principal(tmp_path: Path) -> None:
    cases: list[dict[str, Any]] = [
        {
            "name": "user",
            "request_headers": [["x-pe-principal", _jwt({"sub": "usr_01hx", "kind": "user", "aud": "x"})]],
        },
        {
            "name": "api key",
            "request_headers": [["x-pe-principal", _jwt({"kind": "api_key", "sub": "key_01hy"})]],
        },
        {"name": "forged subject", "request_headers": [["x-pe-rate-limit-subject", "usr_victim"]]},
        {"name": "garbage", "request_headers": [["x-pe-principal", "not a jwt"]]},
        {"name": "odd subject", "request_headers": [["x-pe-principal", _jwt({"sub": 'usr 1"; drop'})]]},
        {"name": "too long", "request_headers": [["x-pe-principal", _jwt({"sub": "u" * 200})]]},
    ]
    results = run_filter(SUBJECT, cases, tmp_path)
    subjects = {
        name: headers_of(result["request_headers"]).get("x-pe-rate-limit-subject")
        for name, result in results.items()
    }
    assert subjects == {
        "user": "usr_01hx",
        "api key": "key_01hy",
        "forged subject": None,
        "garbage": None,
        "odd subject": None,
        "too long": None,
    }
