"""Page tokens: signed with a key every replica derives from PE_SERVICE_SECRET, bound to
their list, tenant and filters, and checked field by field after the signature."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corelib import pagination
from corelib.errors import ServiceError

QUERY = pagination.page_query("transactions", "org_a", status="COMPLETED", account_id=None)


@pytest.fixture(autouse=True)
def shared_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(pagination.SERVICE_SECRET_ENV, "one secret for every replica")
    pagination._signing_key.cache_clear()
    yield
    pagination._signing_key.cache_clear()


def _refused(token: str, query: pagination.PageQuery = QUERY) -> None:
    with pytest.raises(ServiceError) as caught:
        pagination.decode_page_token(token, query, {"before": str})
    assert caught.value.reason == "INVALID_REQUEST"
    assert caught.value.details == {"field": "pageToken"}


def test_a_token_round_trips_and_another_replica_accepts_it() -> None:
    token = pagination.encode_page_token({"before": "txn_9"}, QUERY)
    pagination._signing_key.cache_clear()  # another process, same secret
    assert pagination.decode_page_token(token, QUERY, {"before": str}) == {"before": "txn_9"}
    assert pagination.decode_page_token("", QUERY, {"before": str}) is None


def test_a_token_is_bound_to_its_tenant_list_and_filters() -> None:
    token = pagination.encode_page_token({"before": "txn_9"}, QUERY)
    _refused(token, pagination.page_query("transactions", "org_b", status="COMPLETED", account_id=None))
    _refused(token, pagination.page_query("accounts", "org_a", status="COMPLETED", account_id=None))
    _refused(token, pagination.page_query("transactions", "org_a", status="FAILED", account_id=None))
    _refused(token, pagination.page_query("transactions", "org_a", status="COMPLETED", account_id="acc_1"))


def test_a_token_signed_with_another_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = pagination.encode_page_token({"before": "txn_9"}, QUERY)
    monkeypatch.setenv(pagination.SERVICE_SECRET_ENV, "another engine")
    pagination._signing_key.cache_clear()
    _refused(token)


def test_a_verified_cursor_must_still_have_its_declared_shape() -> None:
    for cursor in ({"before": 10**30}, {"before": True}, {"after": "txn_1"}, {"before": "x" * 200}):
        _refused(pagination.encode_page_token(cursor, QUERY))


def test_edited_or_malformed_tokens_are_refused() -> None:
    token = pagination.encode_page_token({"before": "txn_9"}, QUERY)
    version, payload, mac = token.split(".")
    for bad in (f"2.{payload}.{mac}", f"{version}.{payload}x.{mac}", f"{version}.{payload}", "é", "a" * 600):
        _refused(bad)
