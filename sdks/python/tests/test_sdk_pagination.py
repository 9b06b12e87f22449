"""Lists page by themselves, lazily, and stop when told."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from engine_double import EngineDouble, json_response, make_async_client, make_client, run, transaction_json

from payment_engine import InvalidResponseError, Transaction

TXN = "/api/v1/transactions"


def _pages(*pages: tuple[list[str], str]) -> EngineDouble:
    """Answers by pageToken: page i is served for the token that page i-1 gave."""
    by_token: dict[str, dict[str, Any]] = {}
    token = ""
    for ids, next_token in pages:
        by_token[token] = {"transactions": [transaction_json(id=i) for i in ids], "nextPageToken": next_token}
        token = next_token

    def answer(request: httpx.Request) -> httpx.Response:
        return json_response(200, by_token[request.url.params.get("pageToken", "")])

    return EngineDouble().on("GET", TXN, answer)


def test_iterating_follows_every_page() -> None:
    engine = _pages((["txn_1", "txn_2"], "t1"), (["txn_3"], "t2"), (["txn_4", "txn_5"], ""))
    client = make_client(engine)

    ids = [transaction.id for transaction in client.transactions.list()]

    assert ids == ["txn_1", "txn_2", "txn_3", "txn_4", "txn_5"]
    assert [r.params.get("pageToken") for r in engine.requests] == [None, "t1", "t2"]
    assert {r.params["pageSize"] for r in engine.requests} == {"100"}


def test_listing_is_lazy() -> None:
    engine = _pages((["txn_1"], ""))
    client = make_client(engine)

    paginator = client.transactions.list()

    assert engine.requests == []
    assert [t.id for t in paginator] == ["txn_1"]


def test_limit_stops_early_and_asks_for_no_more_than_needed() -> None:
    engine = _pages((["txn_1", "txn_2"], "t1"), (["txn_3", "txn_4"], "t2"), (["txn_5"], ""))
    client = make_client(engine)

    ids = [t.id for t in client.transactions.list(limit=3, page_size=2)]

    assert ids == ["txn_1", "txn_2", "txn_3"]
    assert [r.params["pageSize"] for r in engine.requests] == ["2", "1"]


def test_pages_expose_tokens_for_resuming() -> None:
    engine = _pages((["txn_1"], "t1"), (["txn_2"], ""))
    client = make_client(engine)

    pages = list(client.transactions.list().pages())

    assert [p.next_page_token for p in pages] == ["t1", None]
    assert isinstance(pages[0].items[0], Transaction)
    resumed = client.transactions.list(page_token="t1").first_page()
    assert [t.id for t in resumed.items] == ["txn_2"]


def test_filters_become_query_parameters() -> None:
    engine = _pages(([], ""))
    client = make_client(engine)

    list(
        client.transactions.list(
            status="COMPLETED",
            account_id="acc_123",
            created_after=datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc),
        )
    )

    assert engine.requests[0].params == {
        "status": "COMPLETED",
        "accountId": "acc_123",
        "createdAfter": "2024-01-15T10:30:00Z",
        "pageSize": "100",
    }


def test_a_naive_datetime_filter_is_refused() -> None:
    client = make_client(_pages(([], "")))
    with pytest.raises(ValueError, match="timezone"):
        client.transactions.list(created_after=datetime(2024, 1, 15))


def test_a_page_token_served_twice_stops_the_iteration() -> None:
    engine = EngineDouble().on(
        "GET", TXN, json_response(200, {"transactions": [transaction_json()], "nextPageToken": "same"})
    )
    client = make_client(engine)

    with pytest.raises(InvalidResponseError, match="twice"):
        list(client.transactions.list())


def test_page_size_is_bounded() -> None:
    client = make_client(_pages(([], "")))
    with pytest.raises(ValueError, match="page_size"):
        client.transactions.list(page_size=101)


def test_async_iteration_follows_every_page() -> None:
    engine = _pages((["txn_1"], "t1"), (["txn_2"], ""))

    async def scenario() -> list[str]:
        async with make_async_client(engine) as client:
            return [t.id async for t in client.transactions.list()]

    assert run(scenario()) == ["txn_1", "txn_2"]
