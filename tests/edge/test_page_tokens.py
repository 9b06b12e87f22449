"""Page tokens are opaque and tamper-evident: every List route refuses a forged token,
a token of another tenant and a token of another query with 400 INVALID_REQUEST naming
`pageToken` — never a 5xx (a forged `{"before": 10**30}` used to reach SQL).

The List routes are found from the descriptor set (every route whose request has a
page_token field), so a new list is covered without a line here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest

from tests.edge.request_fields import PATH_PLACEHOLDER, public_routes
from tests.harness.engine import EngineHandle
from tests.harness.grpc_clients import new_tenant

LIST_PATHS: Final = sorted(
    route.template.source.replace("{account_id}", "test_acc_001").replace("{endpoint_id}", PATH_PLACEHOLDER)
    for route in public_routes()
    if route.http_method == "GET" and "page_token" in route.request_descriptor.fields_by_name
)


def _legacy(cursor: Any) -> str:
    """A token in the old unsigned format: base64url JSON."""
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


FORGED: Final = (
    _legacy({"before": 10**30}),
    _legacy({"before": True}),
    _legacy({"after": 10**30}),
    _legacy({"t": "2026-01-01T00:00:00+00:00", "id": 7}),
    _legacy([1, 2]),
    "%%%not-base64%%%",
    "1.e30.AAAA",
    "1." + _legacy({"before": "txn_0"}) + ".AAAAAAAAAAAAAAAAAAAAAA",
    "x" * 600,
)


@pytest.fixture(scope="module")
def http(engine_stack: EngineHandle) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": engine_stack.credentials.api_key}
    with httpx.Client(base_url=engine_stack.base_url, headers=headers, timeout=30) as client:
        yield client


def _assert_bad_token(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert error["details"]["field"] == "pageToken"


def _accounts_token(http: httpx.Client, **filters: str) -> str:
    # The sandbox has three accounts, so a page of one has a next page.
    page = http.get("/api/v1/accounts", params={"pageSize": 1, **filters})
    assert page.status_code == 200, page.text
    token: str = page.json()["nextPageToken"]
    assert token
    return token


def test_every_list_route_is_covered() -> None:
    assert len(LIST_PATHS) >= 7
    assert "/api/v1/transactions" in LIST_PATHS


@pytest.mark.parametrize("path", LIST_PATHS)
def test_forged_tokens_are_refused(http: httpx.Client, path: str) -> None:
    for token in FORGED:
        _assert_bad_token(http.get(path, params={"pageToken": token}))


@pytest.mark.parametrize("path", [path for path in LIST_PATHS if path != "/api/v1/accounts"])
def test_a_token_of_another_list_is_refused(http: httpx.Client, path: str) -> None:
    _assert_bad_token(http.get(path, params={"pageToken": _accounts_token(http)}))


def test_a_token_pages_its_own_query_only(http: httpx.Client) -> None:
    token = _accounts_token(http)
    following = http.get("/api/v1/accounts", params={"pageSize": 1, "pageToken": token})
    assert following.status_code == 200, following.text
    # The page size may change between pages; the filters may not.
    assert http.get("/api/v1/accounts", params={"pageSize": 5, "pageToken": token}).status_code == 200
    _assert_bad_token(http.get("/api/v1/accounts", params={"pageToken": token, "status": "ACTIVE"}))
    filtered = _accounts_token(http, status="ACTIVE")
    _assert_bad_token(http.get("/api/v1/accounts", params={"pageToken": filtered}))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    _assert_bad_token(http.get("/api/v1/accounts", params={"pageToken": tampered}))


def test_a_token_of_another_tenant_is_refused(engine_stack: EngineHandle, http: httpx.Client) -> None:
    token = _accounts_token(http)
    other = new_tenant(engine_stack, "page-token-other-tenant")
    with httpx.Client(
        base_url=engine_stack.base_url, headers={"X-API-Key": other.api_key}, timeout=30
    ) as other_http:
        _assert_bad_token(other_http.get("/api/v1/accounts", params={"pageToken": token}))
