"""`client.webhook_endpoints`: where the engine sends events, and how delivery went.

endpoint = client.webhook_endpoints.create(
    url="https://example.com/webhooks/payment-engine",
    event_types=["transaction.completed", "transaction.failed"],
)
store_secret(endpoint.secret)   # whsec_…: shown only now (and by rotate_secret)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from payment_engine import wire
from payment_engine.models import DeletedWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookTestResult
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/webhook-endpoints"
DELIVERY_STATUS_PREFIX: Final = "WEBHOOK_DELIVERY_STATUS_"


def _endpoint(document: Any) -> WebhookEndpoint:
    return WebhookEndpoint.from_json(wire.require_object(document, "a webhook endpoint"))


def _deleted(document: Any) -> DeletedWebhookEndpoint:
    return DeletedWebhookEndpoint.from_json(wire.require_object(document, "a deletion"))


def _test_result(document: Any) -> WebhookTestResult:
    return WebhookTestResult.from_json(wire.require_object(document, "a webhook test"))


def _endpoints_page(document: Any) -> Page[WebhookEndpoint]:
    return parse_page(document, "endpoints", WebhookEndpoint.from_json)


def _deliveries_page(document: Any) -> Page[WebhookDelivery]:
    return parse_page(document, "deliveries", WebhookDelivery.from_json)


def _path(endpoint_id: str) -> str:
    return f"{PATH}/{wire.path_segment(endpoint_id, 'endpoint_id')}"


def delivery_status_name(status: str | None) -> str | None:
    """`"failed"` → `WEBHOOK_DELIVERY_STATUS_FAILED`; full names pass through."""
    if not status:
        return None
    upper = status.upper()
    return upper if upper.startswith(DELIVERY_STATUS_PREFIX) else DELIVERY_STATUS_PREFIX + upper


def create_operation(
    url: str, event_types: Sequence[str] | None, description: str | None, idempotency_key: str | None
) -> Operation[WebhookEndpoint]:
    body = compact(
        {
            "url": url,
            "eventTypes": list(event_types) if event_types is not None else None,
            "description": description,
        }
    )
    return Operation("POST", PATH, _endpoint, body=body, retry_safe=False, idempotency_key=idempotency_key)


def get_operation(endpoint_id: str) -> Operation[WebhookEndpoint]:
    return Operation("GET", _path(endpoint_id), _endpoint)


def list_operation(token: str | None, size: int) -> Operation[Page[WebhookEndpoint]]:
    return Operation("GET", PATH, _endpoints_page, params=page_params({}, token, size))


def update_operation(
    endpoint_id: str, url: str | None, description: str | None, event_types: Sequence[str] | None
) -> Operation[WebhookEndpoint]:
    # Only the fields given change, named in the update mask: `event_types=[]` resets the
    # subscription to every event type.
    changes: dict[str, Any] = compact(
        {
            "url": url,
            "description": description,
            "eventTypes": list(event_types) if event_types is not None else None,
        }
    )
    if not changes:
        raise ValueError("give at least one of url, description, event_types")
    return Operation(
        "PATCH", _path(endpoint_id), _endpoint, params={"updateMask": ",".join(changes)}, body=changes
    )


def delete_operation(endpoint_id: str) -> Operation[DeletedWebhookEndpoint]:
    # A repeat answers NOT_FOUND: not retried after an ambiguous failure.
    return Operation("DELETE", _path(endpoint_id), _deleted, retry_safe=False)


def rotate_secret_operation(
    endpoint_id: str, overlap_seconds: int | None, idempotency_key: str | None
) -> Operation[WebhookEndpoint]:
    return Operation(
        "POST",
        f"{_path(endpoint_id)}:rotateSecret",
        _endpoint,
        body=compact({"overlapSeconds": overlap_seconds}),
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


def enable_operation(endpoint_id: str, idempotency_key: str | None) -> Operation[WebhookEndpoint]:
    return Operation(
        "POST", f"{_path(endpoint_id)}:enable", _endpoint, body={}, idempotency_key=idempotency_key
    )


def disable_operation(
    endpoint_id: str, reason: str | None, idempotency_key: str | None
) -> Operation[WebhookEndpoint]:
    return Operation(
        "POST",
        f"{_path(endpoint_id)}:disable",
        _endpoint,
        body=compact({"reason": reason}),
        idempotency_key=idempotency_key,
    )


def test_operation(endpoint_id: str, idempotency_key: str | None) -> Operation[WebhookTestResult]:
    return Operation(
        "POST",
        f"{_path(endpoint_id)}:test",
        _test_result,
        body={},
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


def deliveries_operation(
    endpoint_id: str, filters: dict[str, str | None], token: str | None, size: int
) -> Operation[Page[WebhookDelivery]]:
    return Operation(
        "GET", f"{_path(endpoint_id)}/deliveries", _deliveries_page, params=page_params(filters, token, size)
    )


class WebhookEndpoints(SyncResource):
    def create(
        self,
        *,
        url: str,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Registers an endpoint; `event_types` empty or None means every type, and an
        entry may end in `.*` (`transaction.*`). The answer's `secret` is shown only here."""
        return self._transport.request(create_operation(url, event_types, description, idempotency_key))

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return self._transport.request(get_operation(endpoint_id))

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> Paginator[WebhookEndpoint]:
        return Paginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
    ) -> WebhookEndpoint:
        return self._transport.request(update_operation(endpoint_id, url, description, event_types))

    def delete(self, endpoint_id: str) -> DeletedWebhookEndpoint:
        return self._transport.request(delete_operation(endpoint_id))

    def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """A new signing secret (in the answer's `secret`); the previous one keeps signing
        beside it for `overlap_seconds` (default 24 hours, at most 7 days)."""
        return self._transport.request(rotate_secret_operation(endpoint_id, overlap_seconds, idempotency_key))

    def enable(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookEndpoint:
        """Re-enables a disabled endpoint; its paused deliveries are sent again at once."""
        return self._transport.request(enable_operation(endpoint_id, idempotency_key))

    def disable(
        self, endpoint_id: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        """Stops deliveries until `enable`; new events wait for the endpoint meanwhile."""
        return self._transport.request(disable_operation(endpoint_id, reason, idempotency_key))

    def test(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookTestResult:
        """Sends a `webhook.test` event now, once, and answers with the attempt's outcome."""
        return self._transport.request(test_operation(endpoint_id, idempotency_key))

    def list_deliveries(
        self,
        endpoint_id: str,
        *,
        event_id: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Paginator[WebhookDelivery]:
        """The endpoint's deliveries, newest first; `status` is PENDING, SUCCEEDED or FAILED."""
        wire.path_segment(endpoint_id, "endpoint_id")
        filters = {"eventId": event_id, "status": delivery_status_name(status)}
        return Paginator(
            lambda token, size: self._transport.request(
                deliveries_operation(endpoint_id, filters, token, size)
            ),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )


class AsyncWebhookEndpoints(AsyncResource):
    async def create(
        self,
        *,
        url: str,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        return await self._transport.request(create_operation(url, event_types, description, idempotency_key))

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._transport.request(get_operation(endpoint_id))

    def list(
        self, *, page_size: int | None = None, limit: int | None = None, page_token: str | None = None
    ) -> AsyncPaginator[WebhookEndpoint]:
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
    ) -> WebhookEndpoint:
        return await self._transport.request(update_operation(endpoint_id, url, description, event_types))

    async def delete(self, endpoint_id: str) -> DeletedWebhookEndpoint:
        return await self._transport.request(delete_operation(endpoint_id))

    async def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        return await self._transport.request(
            rotate_secret_operation(endpoint_id, overlap_seconds, idempotency_key)
        )

    async def enable(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookEndpoint:
        return await self._transport.request(enable_operation(endpoint_id, idempotency_key))

    async def disable(
        self, endpoint_id: str, *, reason: str | None = None, idempotency_key: str | None = None
    ) -> WebhookEndpoint:
        return await self._transport.request(disable_operation(endpoint_id, reason, idempotency_key))

    async def test(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookTestResult:
        return await self._transport.request(test_operation(endpoint_id, idempotency_key))

    def list_deliveries(
        self,
        endpoint_id: str,
        *,
        event_id: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> AsyncPaginator[WebhookDelivery]:
        wire.path_segment(endpoint_id, "endpoint_id")
        filters = {"eventId": event_id, "status": delivery_status_name(status)}
        return AsyncPaginator(
            lambda token, size: self._transport.request(
                deliveries_operation(endpoint_id, filters, token, size)
            ),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )
