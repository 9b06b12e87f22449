"""`client.events`: the events the engine emitted, to reconcile what an endpoint missed.

for event in client.events.list(event_type="transaction.*", created_after=since):
    handle(event)
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Final

from payment_engine import wire
from payment_engine.models import Event, WebhookDelivery
from payment_engine.pagination import AsyncPaginator, Page, Paginator, page_params, parse_page
from payment_engine.resource import AsyncResource, SyncResource, compact
from payment_engine.transport import Operation

PATH: Final = "/api/v1/events"


def _event(document: Any) -> Event:
    return Event.from_json(wire.require_object(document, "an event"))


def _events_page(document: Any) -> Page[Event]:
    return parse_page(document, "events", Event.from_json)


def _deliveries(document: Any) -> list[WebhookDelivery]:
    data = wire.require_object(document, "a redelivery")
    return [WebhookDelivery.from_json(item) for item in wire.objects(data, "deliveries")]


def get_operation(event_id: str) -> Operation[Event]:
    return Operation("GET", f"{PATH}/{wire.path_segment(event_id, 'event_id')}", _event)


def list_filters(
    event_type: str | None, created_after: datetime | None, created_before: datetime | None
) -> dict[str, str | None]:
    return {
        "eventType": event_type,
        "createdAfter": wire.format_timestamp(created_after) if created_after is not None else None,
        "createdBefore": wire.format_timestamp(created_before) if created_before is not None else None,
    }


def list_operation(filters: dict[str, str | None], token: str | None, size: int) -> Operation[Page[Event]]:
    return Operation("GET", PATH, _events_page, params=page_params(filters, token, size))


def redeliver_operation(
    event_id: str, endpoint_id: str | None, idempotency_key: str | None
) -> Operation[list[WebhookDelivery]]:
    # Each call queues one more delivery: not repeated after an ambiguous failure.
    return Operation(
        "POST",
        f"{PATH}/{wire.path_segment(event_id, 'event_id')}:redeliver",
        _deliveries,
        body=compact({"endpointId": endpoint_id}),
        retry_safe=False,
        idempotency_key=idempotency_key,
    )


class Events(SyncResource):
    def get(self, event_id: str) -> Event:
        return self._transport.request(get_operation(event_id))

    def list(
        self,
        *,
        event_type: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Paginator[Event]:
        """Events newest first; `event_type` is one type or a family (`transaction.*`)."""
        filters = list_filters(event_type, created_after, created_before)
        return Paginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    def redeliver(
        self, event_id: str, *, endpoint_id: str | None = None, idempotency_key: str | None = None
    ) -> builtins.list[WebhookDelivery]:
        """Queues the event again for one endpoint, or every endpoint subscribed to its type."""
        return self._transport.request(redeliver_operation(event_id, endpoint_id, idempotency_key))


class AsyncEvents(AsyncResource):
    async def get(self, event_id: str) -> Event:
        return await self._transport.request(get_operation(event_id))

    def list(
        self,
        *,
        event_type: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> AsyncPaginator[Event]:
        filters = list_filters(event_type, created_after, created_before)
        return AsyncPaginator(
            lambda token, size: self._transport.request(list_operation(filters, token, size)),
            page_size=page_size,
            limit=limit,
            page_token=page_token,
        )

    async def redeliver(
        self, event_id: str, *, endpoint_id: str | None = None, idempotency_key: str | None = None
    ) -> builtins.list[WebhookDelivery]:
        return await self._transport.request(redeliver_operation(event_id, endpoint_id, idempotency_key))
