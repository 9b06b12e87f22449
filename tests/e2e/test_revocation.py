"""A revoked API key or an ended session stops working on every path and every replica
within a second: through the REST edge (whose verdicts are kept a few seconds), over
direct gRPC with the raw credential (whose exchange each service keeps), with a principal
assertion minted before the revocation and replayed straight to a service, and on a
second replica of auth and of accounts that learn of it only through NOTIFY."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

import grpc
import httpx
import pytest
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from payment_engine_protos.accounts.v1 import accounts_pb2, accounts_pb2_grpc

from tests.harness.engine import EngineHandle
from tests.harness.replicas import extra_replica

REVOCATION_DEADLINE_S: Final = 1.0
POLL_S: Final = 0.02


@pytest.fixture(scope="module")
def replicas(engine_stack: EngineHandle) -> Iterator[dict[str, str]]:
    with extra_replica(engine_stack, "auth") as auth, extra_replica(engine_stack, "accounts") as accounts:
        yield {"auth": auth, "accounts": accounts}


def _check(addr: str, headers: dict[str, str]) -> str | None:
    """The assertion auth's Check mints for these credential headers, or None if denied."""
    request = external_auth_pb2.CheckRequest()
    for name, value in headers.items():
        request.attributes.request.http.headers[name] = value
    with grpc.insecure_channel(addr) as channel:
        response = external_auth_pb2_grpc.AuthorizationStub(channel).Check(request, timeout=5)
    if not response.HasField("ok_response"):
        return None
    return str(next(o.header.value for o in response.ok_response.headers if o.header.key == "x-pe-principal"))


def _balance_over_grpc(addr: str, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    with grpc.insecure_channel(addr) as channel:
        try:
            accounts_pb2_grpc.AccountsServiceStub(channel).GetBalance(
                accounts_pb2.GetBalanceRequest(account_id="test_acc_001"), metadata=metadata, timeout=5
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _paths(
    engine: EngineHandle, replicas: dict[str, str], http: httpx.Client, headers: dict[str, str]
) -> dict[str, Callable[[], bool]]:
    """Each path by which the credential can be used: True while it still works."""
    raw = tuple((name.lower(), value) for name, value in headers.items())
    assertion = _check(replicas["auth"], {k.lower(): v for k, v in headers.items()})
    assert assertion is not None
    minted = (("x-pe-principal", assertion),)
    return {
        "REST edge": lambda: (
            http.get("/api/v1/accounts/test_acc_001/balance", headers=headers).status_code == 200
        ),
        "gRPC accounts, raw credential": lambda: (
            _balance_over_grpc(engine.grpc_addrs["accounts"], raw) == grpc.StatusCode.OK
        ),
        "gRPC accounts replica, raw credential": lambda: (
            _balance_over_grpc(replicas["accounts"], raw) == grpc.StatusCode.OK
        ),
        "gRPC accounts, replayed assertion": lambda: (
            _balance_over_grpc(engine.grpc_addrs["accounts"], minted) == grpc.StatusCode.OK
        ),
        "gRPC accounts replica, replayed assertion": lambda: (
            _balance_over_grpc(replicas["accounts"], minted) == grpc.StatusCode.OK
        ),
        "auth replica Check": lambda: (
            _check(replicas["auth"], {k.lower(): v for k, v in headers.items()}) is not None
        ),
    }


def _assert_all_stop(paths: dict[str, Callable[[], bool]], revoked_at: float) -> None:
    working = dict(paths)
    while working:
        for name in list(working):
            if not working[name]():
                del working[name]
        elapsed = time.monotonic() - revoked_at
        assert elapsed < REVOCATION_DEADLINE_S or not working, (
            f"still working {elapsed:.2f} s after revocation: {sorted(working)}"
        )
        time.sleep(POLL_S)


def test_a_revoked_api_key_stops_everywhere_within_a_second(
    engine_stack: EngineHandle, replicas: dict[str, str]
) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, timeout=10) as http:
        created = http.post(
            "/api/v1/api-keys", headers=admin, json={"name": "doomed", "scopes": ["account:read"]}
        )
        assert created.status_code == 201, created.text
        key_id, secret = created.json()["apiKey"]["id"], created.json()["secret"]
        paths = _paths(engine_stack, replicas, http, {"X-API-Key": secret})
        assert all(works() for works in paths.values()), "every path works before the revocation"
        assert http.post(f"/api/v1/api-keys/{key_id}:revoke", headers=admin, json={}).status_code == 200
        _assert_all_stop(paths, time.monotonic())
        # The engine's own key was never touched.
        assert http.get("/api/v1/accounts/test_acc_001/balance", headers=admin).status_code == 200


def test_an_ended_session_stops_everywhere_within_a_second(
    engine_stack: EngineHandle, replicas: dict[str, str]
) -> None:
    with httpx.Client(base_url=engine_stack.base_url, timeout=10) as http:
        login = http.post(
            "/api/v1/auth/login",
            json={
                "username": engine_stack.credentials.username,
                "password": engine_stack.credentials.password,
            },
        ).json()
        bearer = {"Authorization": f"Bearer {login['access_token']}"}
        paths = _paths(engine_stack, replicas, http, bearer)
        assert all(works() for works in paths.values()), "every path works before the logout"
        logout = http.post(
            "/api/v1/auth/logout", headers=bearer, json={"refresh_token": login["refresh_token"]}
        )
        assert logout.status_code == 200, logout.text
        _assert_all_stop(paths, time.monotonic())


def test_a_rotated_keys_overlap_ends_everywhere(engine_stack: EngineHandle, replicas: dict[str, str]) -> None:
    admin = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, timeout=10) as http:
        created = http.post(
            "/api/v1/api-keys", headers=admin, json={"name": "rotating", "scopes": ["account:read"]}
        )
        key_id, secret = created.json()["apiKey"]["id"], created.json()["secret"]
        paths = _paths(engine_stack, replicas, http, {"X-API-Key": secret})
        assert all(works() for works in paths.values())
        rotated = http.post(f"/api/v1/api-keys/{key_id}:rotate", headers=admin, json={"overlapSeconds": 1})
        assert rotated.status_code == 200, rotated.text
        ends_at = time.monotonic() + 1
        _assert_all_stop(paths, ends_at)
        new = {"X-API-Key": rotated.json()["secret"]}
        assert http.get("/api/v1/accounts/test_acc_001/balance", headers=new).status_code == 200
