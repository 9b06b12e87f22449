"""Authentication end to end through the gateway over HTTP, exactly as the guide shows
it: login, bearer and API-key calls, refresh rotation, logout, API keys, scopes, JWKS,
throttling, and every kind of bad credential."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from payment_engine_protos.auth.v1 import auth_pb2, auth_pb2_grpc

from tests.harness.engine import EngineFactory, EngineHandle
from tests.harness.grpc_clients import channel, decoded_error, new_tenant, service_metadata


@pytest.fixture(scope="module")
def http(engine_stack: EngineHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=engine_stack.base_url, timeout=30) as client:
        yield client


def login(http: httpx.Client, engine: EngineHandle) -> dict[str, Any]:
    response = http.post(
        "/api/v1/auth/login",
        json={"username": engine.credentials.username, "password": engine.credentials.password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details", "timestamp", "requestId"}
    assert error["requestId"] == response.headers["x-request-id"]
    assert datetime.fromisoformat(error["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert "Traceback" not in response.text
    return dict(error)


def test_login_answers_the_guides_token_response(http: httpx.Client, engine_stack: EngineHandle) -> None:
    body = login(http, engine_stack)
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert "transaction:read" in body["scope"].split(" ")
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"iss", "aud", "sub", "tenant", "scope", "exp", "kid"} - set(claims) == {"kid"}
    assert claims["tenant"] == engine_stack.credentials.tenant_id


def test_access_token_verifies_against_the_published_jwks(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    token = login(http, engine_stack)["access_token"]
    jwks = http.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
    public_key = jwt.PyJWK(key).key
    claims = jwt.decode(
        token,
        public_key,
        algorithms=["EdDSA"],
        audience=jwt.decode(token, options={"verify_signature": False})["aud"],
    )
    assert claims["sub"].startswith("usr_")


def test_bearer_and_api_key_reach_the_same_principal_tenant(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    token = login(http, engine_stack)["access_token"]
    by_token = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    by_key = http.get("/api/v1/auth/me", headers={"X-API-Key": engine_stack.credentials.api_key})
    assert by_token.status_code == by_key.status_code == 200
    assert (
        by_token.json()["tenant"]["id"] == by_key.json()["tenant"]["id"] == engine_stack.credentials.tenant_id
    )
    assert by_token.json()["principal"]["kind"] == "PRINCIPAL_KIND_USER"
    assert by_key.json()["principal"]["kind"] == "PRINCIPAL_KIND_API_KEY"
    assert by_token.headers["x-request-id"].startswith("req_")


def test_request_id_is_kept_from_the_caller(http: httpx.Client, engine_stack: EngineHandle) -> None:
    response = http.get("/api/v1/auth/me", headers={"X-Request-Id": "req_from_client_42"})
    error = assert_envelope(response, 401, "UNAUTHORIZED")
    assert error["requestId"] == "req_from_client_42"


def test_refresh_rotates_and_reuse_revokes_the_family(http: httpx.Client, engine_stack: EngineHandle) -> None:
    first = login(http, engine_stack)
    second = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["token_type"] == "Bearer"
    assert (
        http.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
        ).status_code
        == 200
    )
    reuse = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_envelope(reuse, 401, "UNAUTHORIZED")
    # The whole family ends: the newest refresh token and its access token stop working.
    assert_envelope(
        http.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}),
        401,
        "UNAUTHORIZED",
    )
    assert_envelope(
        http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}),
        401,
        "UNAUTHORIZED",
    )


def test_logout_ends_the_session(http: httpx.Client, engine_stack: EngineHandle) -> None:
    tokens = login(http, engine_stack)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = http.post("/api/v1/auth/logout", headers=bearer, json={})
    assert out.status_code == 200 and out.json()["revoked"] is True
    assert_envelope(http.get("/api/v1/auth/me", headers=bearer), 401, "UNAUTHORIZED")
    assert_envelope(
        http.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "UNAUTHORIZED",
    )


def _forged(claims: dict[str, Any], *, kid: str, key: Any = None, alg: str = "EdDSA") -> str:
    if alg == "none":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": kid}).encode()).rstrip(b"=")
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        return f"{header.decode()}.{payload.decode()}."
    return jwt.encode(claims, key or Ed25519PrivateKey.generate(), algorithm=alg, headers={"kid": kid})


def test_tampered_tokens_are_refused(http: httpx.Client, engine_stack: EngineHandle) -> None:
    genuine = login(http, engine_stack)["access_token"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    expired = dict(claims, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    head, _payload, signature = genuine.split(".")
    elevated_payload = (
        base64.urlsafe_b64encode(json.dumps(dict(claims, scope=claims["scope"] + " admin:all")).encode())
        .rstrip(b"=")
        .decode()
    )
    forgeries = {
        "alg none": _forged(claims, kid=kid, alg="none"),
        "wrong key": _forged(claims, kid=kid),
        "unknown kid": _forged(claims, kid="not-a-key"),
        "expired (wrong key)": _forged(expired, kid=kid),
        "wrong audience (wrong key)": _forged(dict(claims, aud="someone-else"), kid=kid),
        "hs256 with public key": jwt.encode(claims, "secret", algorithm="HS256", headers={"kid": kid}),
        "payload swapped": f"{head}.{elevated_payload}.{signature}",
        "garbage": "not.a.token",
    }
    for name, token in forgeries.items():
        response = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert_envelope(response, 401, "UNAUTHORIZED")
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "bearer " + "x" * 5000):
        assert_envelope(http.get("/api/v1/auth/me", headers={"Authorization": header}), 401, "UNAUTHORIZED")


def test_api_keys_create_list_rotate_revoke(http: httpx.Client, engine_stack: EngineHandle) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    created = http.post(
        "/api/v1/api-keys", headers=admin, json={"name": "reporting", "scopes": ["account:read"]}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret, key = body["secret"], body["apiKey"]
    assert key["id"].startswith("key_") and key["status"] == "API_KEY_STATUS_ACTIVE"
    assert secret.startswith(key["secretPrefix"]) and "secret" not in key
    listed = http.get("/api/v1/api-keys", headers=admin).json()["apiKeys"]
    assert key["id"] in {k["id"] for k in listed}
    assert all("secret" not in k for k in listed)
    own = {"X-API-Key": secret}
    assert http.get("/api/v1/auth/me", headers=own).json()["scopes"] == ["account:read"]
    # A key without apikey:read is a known caller without the scope.
    assert_envelope(http.get("/api/v1/api-keys", headers=own), 403, "FORBIDDEN")
    time.sleep(0.1)
    assert http.get(f"/api/v1/api-keys/{key['id']}", headers=admin).json()["apiKey"].get("lastUsedTime")

    rotated = http.post(f"/api/v1/api-keys/{key['id']}:rotate", headers=admin, json={"overlapSeconds": 60})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert rotated.json()["apiKey"]["rotatedFromId"] == key["id"]
    # Both work during the overlap window.
    assert http.get("/api/v1/auth/me", headers={"X-API-Key": new_secret}).status_code == 200
    assert http.get("/api/v1/auth/me", headers=own).status_code == 200

    revoked = http.post(f"/api/v1/api-keys/{key['id']}:revoke", headers=admin, json={})
    assert revoked.json()["apiKey"]["status"] == "API_KEY_STATUS_REVOKED"
    assert_envelope(http.get("/api/v1/auth/me", headers=own), 401, "UNAUTHORIZED")
    assert http.get("/api/v1/auth/me", headers={"X-API-Key": new_secret}).status_code == 200


def test_expired_api_key_is_refused(http: httpx.Client, engine_stack: EngineHandle) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    created = http.post(
        "/api/v1/api-keys",
        headers=admin,
        json={"name": "short", "scopes": ["account:read"], "expireTime": soon},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert http.get("/api/v1/auth/me", headers={"X-API-Key": secret}).status_code == 200
    time.sleep(2.5)
    assert_envelope(http.get("/api/v1/auth/me", headers={"X-API-Key": secret}), 401, "UNAUTHORIZED")


def test_a_key_cannot_grant_more_than_it_holds(http: httpx.Client, engine_stack: EngineHandle) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    limited = http.post(
        "/api/v1/api-keys",
        headers=admin,
        json={"name": "limited", "scopes": ["apikey:write", "account:read"]},
    ).json()["secret"]
    escalation = http.post(
        "/api/v1/api-keys",
        headers={"X-API-Key": limited},
        json={"name": "x", "scopes": ["transaction:create"]},
    )
    assert_envelope(escalation, 403, "FORBIDDEN")


def test_tenants_do_not_see_each_others_keys(http: httpx.Client, engine_stack: EngineHandle) -> None:
    other = new_tenant(engine_stack, "Other tenant")
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    key_id = http.post(
        "/api/v1/api-keys", headers=admin, json={"name": "mine", "scopes": ["account:read"]}
    ).json()["apiKey"]["id"]
    foreign = {"X-API-Key": other.api_key}
    assert_envelope(http.get(f"/api/v1/api-keys/{key_id}", headers=foreign), 404, "NOT_FOUND")
    assert_envelope(
        http.post(f"/api/v1/api-keys/{key_id}:revoke", headers=foreign, json={}), 404, "NOT_FOUND"
    )
    assert key_id not in {k["id"] for k in http.get("/api/v1/api-keys", headers=foreign).json()["apiKeys"]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"username": "sandbox"', 400, "INVALID_REQUEST"),
        ("[]", 400, "INVALID_REQUEST"),
        ('{"username": 42, "password": "x"}', 400, "INVALID_REQUEST"),
        ('{"username": "a", "password": "b", "role": "admin"}', 400, "INVALID_REQUEST"),
        ('{"password": "only"}', 400, "INVALID_REQUEST"),
        ('{"username": "' + "u" * 2_000_000 + '", "password": "b"}', 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_bad_login_bodies_get_the_envelope(http: httpx.Client, body: str, status: int, code: str) -> None:
    response = http.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert_envelope(response, status, code)


def test_bad_api_key_requests_store_nothing(http: httpx.Client, engine_stack: EngineHandle) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    before = len(http.get("/api/v1/api-keys?pageSize=100", headers=admin).json()["apiKeys"])
    for body in (
        {"name": "", "scopes": ["account:read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "x" * 500, "scopes": ["account:read"]},
        {"name": "x", "scopes": "account:read"},
        {"name": "x", "scopes": ["account:read"], "expireTime": "2001-01-01T00:00:00Z"},
    ):
        response = http.post("/api/v1/api-keys", headers=admin, json=body)
        assert response.status_code == 400, (body, response.text)
    after = len(http.get("/api/v1/api-keys?pageSize=100", headers=admin).json()["apiKeys"])
    assert after == before


def test_unknown_user_and_wrong_password_are_indistinguishable(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    unknown = http.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "whatever1"})
    wrong = http.post(
        "/api/v1/auth/login", json={"username": engine_stack.credentials.username, "password": "wrong-pw"}
    )
    a, b = assert_envelope(unknown, 401, "UNAUTHORIZED"), assert_envelope(wrong, 401, "UNAUTHORIZED")
    assert (a["message"], a["details"]) == (b["message"], b["details"])


def test_repeated_failures_throttle_the_username(http: httpx.Client) -> None:
    username = f"victim-{time.time_ns()}"
    statuses = [
        http.post("/api/v1/auth/login", json={"username": username, "password": "wrong-password"}).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [401] * 5
    throttled = http.post("/api/v1/auth/login", json={"username": username, "password": "wrong-password"})
    assert_envelope(throttled, 429, "RATE_LIMIT_EXCEEDED")
    assert int(throttled.headers["retry-after"]) > 0


def test_routes_methods_and_health(http: httpx.Client) -> None:
    assert_envelope(http.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    wrong_method = http.get("/api/v1/auth/login")
    assert_envelope(wrong_method, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in wrong_method.headers["allow"]
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").status_code == 200


def test_signing_key_rotation_keeps_issued_tokens_valid(
    http: httpx.Client, engine_stack: EngineHandle
) -> None:
    before = login(http, engine_stack)["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]
    auth = auth_pb2_grpc.AuthServiceStub(channel(engine_stack, "auth"))
    new_kid = auth.RotateSigningKey(
        auth_pb2.RotateSigningKeyRequest(), metadata=service_metadata(engine_stack)
    ).kid
    assert new_kid != old_kid
    after = login(http, engine_stack)["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    kids = {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= kids
    for token in (before, after):
        assert http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Rotation is for the engine's operators only.
    with pytest.raises(grpc.RpcError) as denied:
        auth.RotateSigningKey(
            auth_pb2.RotateSigningKeyRequest(), metadata=(("x-api-key", engine_stack.credentials.api_key),)
        )
    assert decoded_error(denied.value).reason == "FORBIDDEN"


def test_service_tokens_need_the_deployment_secret(engine_stack: EngineHandle) -> None:
    auth = auth_pb2_grpc.AuthServiceStub(channel(engine_stack, "auth"))
    with pytest.raises(grpc.RpcError) as denied:
        auth.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(service_name="transactions", service_secret="guess")
        )
    assert decoded_error(denied.value).reason == "UNAUTHORIZED"


def test_logins_per_client_address_are_throttled(engine_stack_factory: EngineFactory) -> None:
    engine = engine_stack_factory(extra_env={"PE_LOGIN_ATTEMPTS_PER_ADDRESS_MAX": "3"})
    with httpx.Client(base_url=engine.base_url, timeout=30) as client:
        # Different usernames: only the address connects them (password spraying).
        statuses = [
            client.post(
                "/api/v1/auth/login", json={"username": f"user{n}", "password": "guess-guess"}
            ).status_code
            for n in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        throttled = client.post(
            "/api/v1/auth/login",
            json={"username": engine.credentials.username, "password": engine.credentials.password},
        )
        assert_envelope(throttled, 429, "RATE_LIMIT_EXCEEDED")
        assert 0 < int(throttled.headers["retry-after"]) <= 60


def test_request_quotas_per_address_and_per_credential(engine_stack_factory: EngineFactory) -> None:
    engine = engine_stack_factory(
        extra_env={"PE_RATE_LIMIT_ADDRESS_PER_MINUTE": "8", "PE_RATE_LIMIT_CREDENTIAL_PER_MINUTE": "3"}
    )
    other = new_tenant(engine, "Second caller")
    with httpx.Client(base_url=engine.base_url, timeout=30) as client:
        mine = {"X-API-Key": engine.credentials.api_key}
        first = client.get("/api/v1/auth/me", headers=mine)
        assert first.status_code == 200
        assert first.headers["ratelimit-limit"] == "3" and first.headers["ratelimit-remaining"] == "2"
        assert [client.get("/api/v1/auth/me", headers=mine).status_code for _ in range(2)] == [200, 200]
        limited = client.get("/api/v1/auth/me", headers=mine)
        error = assert_envelope(limited, 429, "RATE_LIMIT_EXCEEDED")
        assert 0 < int(limited.headers["retry-after"]) <= 60 and limited.headers["ratelimit-remaining"] == "0"
        assert error["details"]["retryAfterSeconds"] == int(limited.headers["retry-after"])
        # Another credential has its own quota, until the address's runs out.
        assert client.get("/api/v1/auth/me", headers={"X-API-Key": other.api_key}).status_code == 200
        # Five requests so far from this address; unknown routes count too.
        statuses = [client.get("/api/v1/no-such-route").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        assert client.get("/healthz").status_code == 200
