"""Transactions: the API's filters as GET parameters; one payment's trace — its status,
ledger effect, events and their deliveries."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import PAGE_SIZE_MAX, ApiError
from portal.delivery_log import api_time, list_deliveries, list_endpoints
from portal.rendering import render_page
from portal.web import api, path_id, signed_in

STATUSES: Final = ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELED")
FILTERS: Final = (
    "status",
    "account_id",
    "payment_type_id",
    "external_reference",
    "created_after",
    "created_before",
)
LIST_PAGE_SIZE: Final = 50
# How far back the trace looks for the payment's events.
EVENT_PAGES_MAX: Final = 5


async def show_transactions(request: Request) -> Response:
    session = signed_in(request)
    filters = {name: request.query_params.get(name, "") for name in FILTERS}
    params: dict[str, str | int] = {
        name: value for name, value in filters.items() if name not in {"created_after", "created_before"}
    }
    params |= {
        "page_size": LIST_PAGE_SIZE,
        "created_after": api_time(filters["created_after"]),
        "created_before": api_time(filters["created_before"]),
        "page_token": request.query_params.get("page_token", ""),
    }
    error = ""
    listing: dict[str, Any] = {}
    try:
        listing = await api(request).call(session, "GET", "/api/v1/transactions", params=params)
    except ApiError as failure:
        if failure.status >= 500:
            raise
        error = failure.message
    types = await api(request).call(session, "GET", "/api/v1/payment-types")
    next_token = str(listing.get("nextPageToken") or "")
    context = {
        "filters": filters,
        "statuses": STATUSES,
        "payment_types": types.get("paymentTypes", []),
        "transactions": listing.get("transactions", []),
        "error": error,
        "next_query": ({k: v for k, v in filters.items() if v} | {"page_token": next_token})
        if next_token
        else None,
    }
    return render_page(request, "transactions.html", context, session=session)


async def show_transaction(request: Request) -> Response:
    session = signed_in(request)
    transaction_id = path_id(request, "transaction_id")
    transaction = await api(request).call(session, "GET", f"/api/v1/transactions/{transaction_id}")
    transaction = transaction.get("transaction", transaction)
    entries: list[dict[str, Any]] = []
    for account_id in (transaction.get("fromAccountId"), transaction.get("toAccountId")):
        if not account_id:
            continue
        try:
            page = await api(request).call(
                session, "GET", f"/api/v1/accounts/{account_id}/entries", params={"page_size": PAGE_SIZE_MAX}
            )
        except ApiError:
            continue
        entries.extend(
            {**entry, "accountId": account_id}
            for entry in page.get("entries", [])
            if entry.get("transactionId") == transaction_id
        )
    events: list[dict[str, Any]] = []
    token = ""
    for _page in range(EVENT_PAGES_MAX):
        params: dict[str, str | int] = {"page_size": PAGE_SIZE_MAX, "event_type": "transaction.*"}
        if token:
            params["page_token"] = token
        page = await api(request).call(session, "GET", "/api/v1/events", params=params)
        events.extend(
            e for e in page.get("events", []) if e.get("data", {}).get("transactionId") == transaction_id
        )
        token = str(page.get("nextPageToken") or "")
        if not token:
            break
    events.sort(key=lambda e: str(e.get("createdAt", "")))
    deliveries: list[dict[str, Any]] = []
    endpoints = await list_endpoints(request, session)
    for event in events:
        for endpoint in endpoints:
            deliveries.extend(
                await list_deliveries(request, session, endpoint["id"], event_id=str(event["eventId"]))
            )
    deliveries.sort(key=lambda d: str(d.get("createdAt", "")), reverse=True)
    context = {
        "transaction": transaction,
        "entries": entries,
        "events": events,
        "deliveries": deliveries,
        "final": transaction.get("status") in {"COMPLETED", "FAILED", "CANCELED"},
    }
    return render_page(request, "transaction.html", context, session=session, block="trace")


routes = [
    Route("/portal/transactions", show_transactions, methods=["GET"]),
    Route("/portal/transactions/{transaction_id}", show_transaction, methods=["GET"]),
]
