"""The gateway's HTTP behaviour through ASGI: envelopes, statuses, request ids, headers
to metadata and authentication, against no backend or a small in-process fake one."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2
from envoy.type.v3 import http_status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from payment_engine_protos.auth.v1 import auth_pb2

from corelib.config import Settings, load_settings
from corelib.errors import ServiceError
from gateway import app as app_module
from gateway import backends as backends_module
from gateway.app import GatewayApp, build_app

Context = grpc.aio.ServicerContext[Any, Any]
CLIENT_ADDRESS = "203.0.113.7"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEAK_MARKERS = ("Traceback", "RuntimeError", "Exception calling", "127.0.0.1", "ipv4:", "grpc")


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def settings_for(address: str) -> Settings:
    return load_settings(
        environ={}, auth_addr=address, accounts_addr=address, transactions_addr=address, webhooks_addr=address
    )


@pytest.fixture
async def down_app() -> AsyncIterator[GatewayApp]:
    app = build_app(settings_for(f"127.0.0.1:{unused_port()}"))
    yield app
    await app.backends.close()


def client_for(app: GatewayApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details", "timestamp", "requestId"}
    assert error["code"] == code
    assert isinstance(error["details"], dict)
    assert TIMESTAMP_RE.match(error["timestamp"])
    assert error["requestId"] == response.headers["x-request-id"]
    for marker in LEAK_MARKERS:
        assert marker not in response.text
    return error


# --- no backend needed ---------------------------------------------------------------------


async def test_healthz(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


class RecordingLog:
    """Stands in for gateway.app's logger: each line with the level it was written at."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def debug(self, event: str, **fields: Any) -> None:
        self.lines.append(("debug", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append(("info", event, fields))

    def exception(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))

    def access_lines(self) -> list[tuple[str, dict[str, Any]]]:
        return [(level, fields) for level, event, fields in self.lines if event == "http_request"]


@pytest.fixture
def recording_log(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recorder = RecordingLog()
    monkeypatch.setattr(app_module, "log", recorder)
    return recorder


async def test_quick_success_is_logged_at_debug(down_app: GatewayApp, recording_log: RecordingLog) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    [(level, fields)] = recording_log.access_lines()
    assert level == "debug"
    assert set(fields) == {"method", "path", "status", "duration_ms"}
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/healthz", 200)
    assert isinstance(fields["duration_ms"], float)


async def test_failures_are_logged_at_info(down_app: GatewayApp, recording_log: RecordingLog) -> None:
    async with client_for(down_app) as client:
        await client.get("/api/v1/nowhere")
        await client.get("/api/v1/auth/login")
        await client.get("/api/v1/api-keys")
    lines = recording_log.access_lines()
    assert [(level, fields["status"], fields["path"]) for level, fields in lines] == [
        ("info", 404, "/api/v1/nowhere"),
        ("info", 405, "/api/v1/auth/login"),
        ("info", 401, "/api/v1/api-keys"),
    ]
    assert all(set(fields) == {"method", "path", "status", "duration_ms"} for _, fields in lines)


async def test_slow_success_is_logged_at_info(
    down_app: GatewayApp, recording_log: RecordingLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every request counts as slow with a bound of zero.
    monkeypatch.setattr(app_module, "SLOW_REQUEST_S", 0.0)
    async with client_for(down_app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert [(level, fields["status"]) for level, fields in recording_log.access_lines()] == [("info", 200)]


async def test_answers_carry_the_quota_headers(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/nowhere")
    assert_envelope(response, 404, "NOT_FOUND")
    assert response.headers["ratelimit-limit"].isdigit()
    assert response.headers["ratelimit-remaining"].isdigit()
    assert response.headers["ratelimit-reset"].isdigit()
    assert response.headers["cache-control"] == "no-store"


async def test_malformed_json_is_400(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post(
            "/api/v1/auth/login", content=b'{"username": "a",', headers={"content-type": "application/json"}
        )
    error = assert_envelope(response, 400, "INVALID_REQUEST")
    assert "not valid JSON" in error["message"]


async def test_unknown_field_is_400_and_named(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "a", "password": "b", "otp": "1"}
        )
    error = assert_envelope(response, 400, "INVALID_REQUEST")
    assert error["details"] == {"field": "otp"}


async def test_wrong_type_is_400_and_named(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": ["a"], "password": "b"})
    error = assert_envelope(response, 400, "INVALID_REQUEST")
    assert error["details"] == {"field": "username"}
    assert "expected a string" in error["message"]


async def test_non_object_body_is_400(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", json=["username"])
    assert_envelope(response, 400, "INVALID_REQUEST")


async def test_body_over_one_mebibyte_is_413(down_app: GatewayApp) -> None:
    payload = b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", content=payload)
    error = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"maxBytes": 1024 * 1024}


async def test_streamed_body_over_one_mebibyte_is_413(down_app: GatewayApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(32):
            yield b"x" * (64 * 1024)

    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", content=chunks())
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


async def test_unknown_route_is_404(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/nowhere")
    assert_envelope(response, 404, "NOT_FOUND")


async def test_wrong_method_is_405_with_allow(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/auth/login")
        probe = await client.post("/healthz")
    error = assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    assert error["details"] == {"allowedMethods": ["POST"]}
    assert_envelope(probe, 405, "METHOD_NOT_ALLOWED")
    assert probe.headers["allow"] == "GET, HEAD"


async def test_caller_request_id_is_echoed(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", content=b"{", headers={"x-request-id": "trace-42"})
    error = assert_envelope(response, 400, "INVALID_REQUEST")
    assert response.headers["x-request-id"] == "trace-42"
    assert error["requestId"] == "trace-42"


@pytest.mark.parametrize("offered", ["has space", "x" * 129, "tab\there", ""])
async def test_insane_request_id_is_replaced(down_app: GatewayApp, offered: str) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/nowhere", headers={"x-request-id": offered})
    error = assert_envelope(response, 404, "NOT_FOUND")
    assert response.headers["x-request-id"].startswith("req_")
    assert error["requestId"] == response.headers["x-request-id"]


async def test_backend_down_is_503(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": "a", "password": "b"})
    error = assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert error["message"] == "Service temporarily unavailable"


async def test_auth_down_is_503_for_a_protected_route(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/auth/me", headers={"authorization": "Bearer token"})
    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")


async def test_protected_route_without_credentials_is_401(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/api-keys")
    assert_envelope(response, 401, "UNAUTHORIZED")


async def test_readyz_names_the_backend_that_is_down(down_app: GatewayApp) -> None:
    async with client_for(down_app) as client:
        response = await client.get("/readyz")
    error = assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert "auth" in error["message"]
    assert error["details"]["backends"]["auth"] != "SERVING"


async def test_unexpected_exception_is_a_bare_500(
    down_app: GatewayApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(method: str, path: str) -> None:
        raise RuntimeError("secret internal detail at /srv/gateway.py line 12")

    monkeypatch.setattr(down_app.routes, "resolve", explode)
    async with client_for(down_app) as client:
        response = await client.get("/api/v1/api-keys")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "Internal server error"
    assert "secret" not in response.text


# --- against a fake auth service ------------------------------------------------------------


@dataclass
class FakeAuth:
    """Login, GetMe, CreateApiKey and GetJwks of AuthService, plus ext_authz Check."""

    seen: list[dict[str, str]] = field(default_factory=list)
    checks: list[dict[str, str]] = field(default_factory=list)

    def _record(self, context: Context) -> None:
        self.seen.append({k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)})

    async def login(self, request: auth_pb2.LoginRequest, context: Context) -> Any:
        self._record(context)
        if request.username == "crash":
            raise RuntimeError("database password is hunter2")
        if request.username == "slow":
            await asyncio.sleep(5)
        if request.username == "wrong":
            error = ServiceError("UNAUTHORIZED", "Invalid username or password", {"username": "wrong"})
            await context.abort_with_status(rpc_status.to_status(error.to_status_proto()))
        if request.username == "busy":
            error = ServiceError("RATE_LIMIT_EXCEEDED", metadata={"retryAfterSeconds": "7"})
            await context.abort_with_status(rpc_status.to_status(error.to_status_proto()))
        return auth_pb2.LoginResponse(
            access_token="at", refresh_token="rt", token_type="Bearer", expires_in=3600, scope="account:read"
        )

    async def get_me(self, request: auth_pb2.GetMeRequest, context: Context) -> Any:
        self._record(context)
        return auth_pb2.GetMeResponse(scopes=["account:read"])

    async def create_api_key(self, request: auth_pb2.CreateApiKeyRequest, context: Context) -> Any:
        self._record(context)
        return auth_pb2.CreateApiKeyResponse(
            api_key=auth_pb2.ApiKey(id="key_1", name=request.name), secret="s"
        )

    async def get_jwks(self, request: auth_pb2.GetJwksRequest, context: Context) -> Any:
        self._record(context)
        return auth_pb2.GetJwksResponse(
            keys=[auth_pb2.JsonWebKey(kty="OKP", crv="Ed25519", x="AAAA", kid="k1")]
        )

    async def check(self, request: external_auth_pb2.CheckRequest, context: Context) -> Any:
        headers = dict(request.attributes.request.http.headers)
        self.checks.append(headers)
        if headers.get("authorization") == "Bearer good":
            header = base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key="x-pe-principal", value="assertion")
            )
            return external_auth_pb2.CheckResponse(
                ok_response=external_auth_pb2.OkHttpResponse(headers=[header])
            )
        return external_auth_pb2.CheckResponse(
            denied_response=external_auth_pb2.DeniedHttpResponse(status=http_status_pb2.HttpStatus(code=401))
        )

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        def unary(fn: Any, request_type: Any, response_type: Any) -> grpc.RpcMethodHandler[Any, Any]:
            return grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )

        return [
            grpc.method_handlers_generic_handler(
                "payment_engine.auth.v1.AuthService",
                {
                    "Login": unary(self.login, auth_pb2.LoginRequest, auth_pb2.LoginResponse),
                    "GetMe": unary(self.get_me, auth_pb2.GetMeRequest, auth_pb2.GetMeResponse),
                    "CreateApiKey": unary(
                        self.create_api_key, auth_pb2.CreateApiKeyRequest, auth_pb2.CreateApiKeyResponse
                    ),
                    "GetJwks": unary(self.get_jwks, auth_pb2.GetJwksRequest, auth_pb2.GetJwksResponse),
                },
            ),
            grpc.method_handlers_generic_handler(
                "envoy.service.auth.v3.Authorization",
                {"Check": unary(self.check, external_auth_pb2.CheckRequest, external_auth_pb2.CheckResponse)},
            ),
        ]


@pytest.fixture
async def fake_auth() -> AsyncIterator[tuple[FakeAuth, str]]:
    fake = FakeAuth()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(fake.handlers())
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    yield fake, f"127.0.0.1:{port}"
    await server.stop(grace=None)


@pytest.fixture
async def live_app(fake_auth: tuple[FakeAuth, str]) -> AsyncIterator[GatewayApp]:
    app = build_app(settings_for(fake_auth[1]))
    yield app
    await app.backends.close()


async def test_login_goes_through_with_forwarded_headers(
    live_app: GatewayApp, fake_auth: tuple[FakeAuth, str]
) -> None:
    fake, _ = fake_auth
    async with client_for(live_app) as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"username": "ada", "password": "pw"},
            headers={
                "x-request-id": "trace-1",
                "x-forwarded-for": "198.51.100.1",
                "idempotency-key": "idem-1",
                "x-pe-principal": "forged",
            },
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-1"
    assert response.json() == {
        "access_token": "at",
        "refresh_token": "rt",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "account:read",
    }
    metadata = fake.seen[-1]
    assert metadata["x-request-id"] == "trace-1"
    assert metadata["x-forwarded-for"] == f"198.51.100.1, {CLIENT_ADDRESS}"
    assert metadata["idempotency-key"] == "idem-1"
    assert "x-pe-principal" not in metadata
    assert fake.checks == []


async def test_protected_route_forwards_the_principal(
    live_app: GatewayApp, fake_auth: tuple[FakeAuth, str]
) -> None:
    fake, _ = fake_auth
    async with client_for(live_app) as client:
        response = await client.get(
            "/api/v1/auth/me", headers={"authorization": "Bearer good", "x-pe-principal": "forged"}
        )
    assert response.status_code == 200
    assert response.json()["scopes"] == ["account:read"]
    assert fake.seen[-1]["x-pe-principal"] == "assertion"
    assert fake.seen[-1]["authorization"] == "Bearer good"
    check = fake.checks[-1]
    assert check["authorization"] == "Bearer good"
    assert check["x-forwarded-for"] == CLIENT_ADDRESS
    assert check["x-request-id"] == response.headers["x-request-id"]


async def test_denied_credential_is_401(live_app: GatewayApp, fake_auth: tuple[FakeAuth, str]) -> None:
    fake, _ = fake_auth
    async with client_for(live_app) as client:
        response = await client.get("/api/v1/auth/me", headers={"x-api-key": "bad"})
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert fake.seen == []


async def test_create_answers_201(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.post(
            "/api/v1/api-keys",
            json={"name": "ci", "scopes": ["account:read"]},
            headers={"authorization": "Bearer good"},
        )
    assert response.status_code == 201
    assert response.json()["apiKey"]["id"] == "key_1"


async def test_jwks_is_a_plain_key_set(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == {
        "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k1", "use": "", "alg": ""}]
    }


async def test_service_error_becomes_the_guide_envelope(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": "wrong", "password": "pw"})
    error = assert_envelope(response, 401, "UNAUTHORIZED")
    assert error["message"] == "Invalid username or password"
    assert error["details"] == {"username": "wrong"}


async def test_retry_after_comes_from_error_metadata(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": "busy", "password": "pw"})
    assert_envelope(response, 429, "RATE_LIMIT_EXCEEDED")
    assert response.headers["retry-after"] == "7"


async def test_backend_crash_leaks_nothing(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": "crash", "password": "pw"})
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "hunter2" not in response.text
    assert error["message"] == "Internal server error"


async def test_backend_deadline_is_503(live_app: GatewayApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends_module, "BACKEND_CALL_TIMEOUT_S", 0.2)
    async with client_for(live_app) as client:
        response = await client.post("/api/v1/auth/login", json={"username": "slow", "password": "pw"})
    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")


async def test_readyz_when_every_backend_serves(live_app: GatewayApp) -> None:
    async with client_for(live_app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["backends"].values()) == {"SERVING"}


def test_every_proto_domain_needs_an_address() -> None:
    settings = settings_for("127.0.0.1:1")
    with pytest.raises(ValueError, match="nowhere_addr"):
        backends_module.backend_addresses(settings, ["auth", "nowhere"])
