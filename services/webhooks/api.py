"""The WebhooksService servicer: proto in → use case → proto out. Errors are
ServiceErrors, mapped to gRPC statuses by the call pipeline."""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import struct_pb2
from payment_engine_protos.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc

from corelib.errors import ServiceError
from corelib.grpc_pipeline import RpcContext
from corelib.request_context import current_principal
from corelib.request_validation import checked_by_handler, require_no_nul
from corelib.timestamps import from_timestamp, to_timestamp
from services.webhooks.endpoints import DeliveryWithAttempts, Endpoints, changes_from_mask
from services.webhooks.event_json import NotEventData, data_from_json
from services.webhooks.events import Events, IncomingEvent
from services.webhooks.repository import (
    DISABLED,
    ENABLED,
    FAILED,
    PENDING,
    SUCCEEDED,
    EndpointRow,
    EventRow,
)
from services.webhooks.struct_data import NUL, HoldsNul, struct_to_dict

_ENDPOINT_STATUS = {
    ENABLED: webhooks_pb2.WEBHOOK_ENDPOINT_STATUS_ENABLED,
    DISABLED: webhooks_pb2.WEBHOOK_ENDPOINT_STATUS_DISABLED,
}
_DELIVERY_STATUS = {
    PENDING: webhooks_pb2.WEBHOOK_DELIVERY_STATUS_PENDING,
    SUCCEEDED: webhooks_pb2.WEBHOOK_DELIVERY_STATUS_SUCCEEDED,
    FAILED: webhooks_pb2.WEBHOOK_DELIVERY_STATUS_FAILED,
}
_DELIVERY_STATUS_NAME = {value: name for name, value in _DELIVERY_STATUS.items()}
_TRIGGER = {
    "event": webhooks_pb2.WEBHOOK_DELIVERY_TRIGGER_EVENT,
    "redelivery": webhooks_pb2.WEBHOOK_DELIVERY_TRIGGER_REDELIVERY,
    "test": webhooks_pb2.WEBHOOK_DELIVERY_TRIGGER_TEST,
}


def endpoint_message(endpoint: EndpointRow, *, with_secret: bool = False) -> webhooks_pb2.WebhookEndpoint:
    return webhooks_pb2.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        status=_ENDPOINT_STATUS[endpoint.status],
        disabled_reason=endpoint.disabled_reason,
        disabled_at=to_timestamp(endpoint.disabled_at),
        secret=endpoint.secret if with_secret else "",
        previous_secret_expires_at=to_timestamp(endpoint.previous_secret_expires_at)
        if endpoint.previous_secret
        else None,
        consecutive_failures=endpoint.consecutive_failures,
        created_at=to_timestamp(endpoint.created_at),
        updated_at=to_timestamp(endpoint.updated_at),
        failing_since=to_timestamp(endpoint.failing_since),
    )


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def event_message(event: EventRow) -> webhooks_pb2.Event:
    return webhooks_pb2.Event(
        event_id=event.id,
        event_type=event.event_type,
        created_at=to_timestamp(event.created_at),
        data=_struct(event.data),
        tenant_id=event.tenant_id,
    )


def delivery_message(entry: DeliveryWithAttempts) -> webhooks_pb2.WebhookDelivery:
    delivery = entry.delivery
    return webhooks_pb2.WebhookDelivery(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=_DELIVERY_STATUS[delivery.status],
        trigger=_TRIGGER[delivery.trigger],
        attempt_count=delivery.attempt_count,
        next_attempt_at=to_timestamp(delivery.next_attempt_at) if delivery.status == PENDING else None,
        created_at=to_timestamp(delivery.created_at),
        completed_at=to_timestamp(delivery.completed_at),
        attempts=[
            webhooks_pb2.WebhookDeliveryAttempt(
                attempt_number=a.attempt_number,
                attempted_at=to_timestamp(a.attempted_at),
                status_code=a.status_code or 0,
                latency_ms=a.latency_ms,
                error=a.error,
                response_body=a.response_body,
                succeeded=a.succeeded,
            )
            for a in entry.attempts
        ],
    )


# PublishEvents reads every string of its request (incoming_event), so it looks for U+0000
# there instead of the call pipeline walking the whole batch once more beforehand.
checked_by_handler(webhooks_pb2.PublishEventsRequest)


def incoming_event(message: webhooks_pb2.Event) -> IncomingEvent:
    """Raises HoldsNul when any string of the event holds U+0000 (PublishEvents turns it
    into the call pipeline's error)."""
    _check_names(message)
    data = struct_to_dict(message.data)
    return _incoming(message, data, orjson.dumps(data))


def incoming_encoded_event(index: int, message: webhooks_pb2.EncodedEvent) -> IncomingEvent:
    _check_names(message)
    where = f"encodedEvents[{index}].dataJson"
    try:
        data = data_from_json(message.data_json)
    except HoldsNul as exc:
        raise ServiceError(
            "INVALID_REQUEST",
            f"Field '{where}' must not contain the NUL character (U+0000)",
            {"field": where},
        ) from exc
    except NotEventData as exc:
        raise ServiceError(
            "INVALID_REQUEST", str(exc), {"field": where, "eventId": message.event_id[:64]}
        ) from exc
    return _incoming(message, data, message.data_json)


def _check_names(message: webhooks_pb2.Event | webhooks_pb2.EncodedEvent) -> None:
    if NUL in message.event_id or NUL in message.tenant_id or NUL in message.event_type:
        raise HoldsNul(message.event_id)


def _incoming(
    message: webhooks_pb2.Event | webhooks_pb2.EncodedEvent, data: dict[str, Any], data_json: bytes
) -> IncomingEvent:
    return IncomingEvent(
        event_id=message.event_id,
        tenant_id=message.tenant_id,
        event_type=message.event_type,
        created_at=from_timestamp(message.created_at) if message.HasField("created_at") else None,
        data=data,
        data_json=data_json,
    )


def incoming_events(request: webhooks_pb2.PublishEventsRequest) -> list[IncomingEvent]:
    try:
        return [incoming_event(message) for message in request.events] + [
            incoming_encoded_event(index, message) for index, message in enumerate(request.encoded_events)
        ]
    except HoldsNul as exc:
        # The error the pipeline's walk gives, naming the field (events[2].data.note).
        require_no_nul(request)
        # Nested deeper than that walk looks: refused all the same.
        raise ServiceError(
            "INVALID_REQUEST",
            "Field 'events' must not contain the NUL character (U+0000)",
            {"field": "events"},
        ) from exc
    except ValueError:
        # The pipeline's walk used to run before any event was read: a NUL anywhere in
        # the request is still what the caller hears of first.
        require_no_nul(request)
        raise


class WebhooksApi(webhooks_pb2_grpc.WebhooksServiceServicer):
    def __init__(self, endpoints: Endpoints, events: Events) -> None:
        self._endpoints = endpoints
        self._events = events

    async def CreateWebhookEndpoint(
        self, request: webhooks_pb2.CreateWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.CreateWebhookEndpointResponse:
        endpoint = await self._endpoints.create(
            current_principal(),
            url=request.url,
            description=request.description,
            event_types=list(request.event_types),
        )
        return webhooks_pb2.CreateWebhookEndpointResponse(
            endpoint=endpoint_message(endpoint, with_secret=True)
        )

    async def ListWebhookEndpoints(
        self, request: webhooks_pb2.ListWebhookEndpointsRequest, context: RpcContext
    ) -> webhooks_pb2.ListWebhookEndpointsResponse:
        rows, next_token = await self._endpoints.list_page(
            current_principal(), page_size=request.page_size, page_token=request.page_token
        )
        return webhooks_pb2.ListWebhookEndpointsResponse(
            endpoints=[endpoint_message(row) for row in rows], next_page_token=next_token
        )

    async def GetWebhookEndpoint(
        self, request: webhooks_pb2.GetWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.GetWebhookEndpointResponse:
        endpoint = await self._endpoints.get(current_principal(), request.id)
        return webhooks_pb2.GetWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

    async def UpdateWebhookEndpoint(
        self, request: webhooks_pb2.UpdateWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.UpdateWebhookEndpointResponse:
        given = request.endpoint
        changes = changes_from_mask(
            list(request.update_mask.paths),
            url=given.url,
            description=given.description,
            event_types=list(given.event_types),
        )
        endpoint = await self._endpoints.update(current_principal(), given.id, changes)
        return webhooks_pb2.UpdateWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

    async def DeleteWebhookEndpoint(
        self, request: webhooks_pb2.DeleteWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.DeleteWebhookEndpointResponse:
        await self._endpoints.delete(current_principal(), request.id)
        return webhooks_pb2.DeleteWebhookEndpointResponse(id=request.id, deleted=True)

    async def RotateWebhookEndpointSecret(
        self, request: webhooks_pb2.RotateWebhookEndpointSecretRequest, context: RpcContext
    ) -> webhooks_pb2.RotateWebhookEndpointSecretResponse:
        endpoint = await self._endpoints.rotate_secret(
            current_principal(), request.id, overlap_seconds=request.overlap_seconds
        )
        return webhooks_pb2.RotateWebhookEndpointSecretResponse(
            endpoint=endpoint_message(endpoint, with_secret=True)
        )

    async def EnableWebhookEndpoint(
        self, request: webhooks_pb2.EnableWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.EnableWebhookEndpointResponse:
        endpoint = await self._endpoints.enable(current_principal(), request.id)
        return webhooks_pb2.EnableWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

    async def DisableWebhookEndpoint(
        self, request: webhooks_pb2.DisableWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.DisableWebhookEndpointResponse:
        endpoint = await self._endpoints.disable(current_principal(), request.id, request.reason)
        return webhooks_pb2.DisableWebhookEndpointResponse(endpoint=endpoint_message(endpoint))

    async def TestWebhookEndpoint(
        self, request: webhooks_pb2.TestWebhookEndpointRequest, context: RpcContext
    ) -> webhooks_pb2.TestWebhookEndpointResponse:
        event, delivery = await self._endpoints.test(current_principal(), request.id)
        return webhooks_pb2.TestWebhookEndpointResponse(
            event=event_message(event), delivery=delivery_message(delivery)
        )

    async def ListWebhookDeliveries(
        self, request: webhooks_pb2.ListWebhookDeliveriesRequest, context: RpcContext
    ) -> webhooks_pb2.ListWebhookDeliveriesResponse:
        entries, next_token = await self._endpoints.list_deliveries(
            current_principal(),
            request.endpoint_id,
            page_size=request.page_size,
            page_token=request.page_token,
            event_id=request.event_id,
            status=_DELIVERY_STATUS_NAME.get(request.status, ""),
        )
        return webhooks_pb2.ListWebhookDeliveriesResponse(
            deliveries=[delivery_message(entry) for entry in entries], next_page_token=next_token
        )

    async def ListEvents(
        self, request: webhooks_pb2.ListEventsRequest, context: RpcContext
    ) -> webhooks_pb2.ListEventsResponse:
        rows, next_token = await self._events.list_page(
            current_principal(),
            page_size=request.page_size,
            page_token=request.page_token,
            event_type=request.event_type,
            created_after=from_timestamp(request.created_after)
            if request.HasField("created_after")
            else None,
            created_before=from_timestamp(request.created_before)
            if request.HasField("created_before")
            else None,
        )
        return webhooks_pb2.ListEventsResponse(
            events=[event_message(row) for row in rows], next_page_token=next_token
        )

    async def GetEvent(
        self, request: webhooks_pb2.GetEventRequest, context: RpcContext
    ) -> webhooks_pb2.GetEventResponse:
        event = await self._events.get(current_principal(), request.id)
        return webhooks_pb2.GetEventResponse(event=event_message(event))

    async def RedeliverEvent(
        self, request: webhooks_pb2.RedeliverEventRequest, context: RpcContext
    ) -> webhooks_pb2.RedeliverEventResponse:
        created = await self._events.redeliver(current_principal(), request.id, request.endpoint_id)
        return webhooks_pb2.RedeliverEventResponse(
            deliveries=[delivery_message(DeliveryWithAttempts(row, [])) for row in created]
        )

    async def PublishEvents(
        self, request: webhooks_pb2.PublishEventsRequest, context: RpcContext
    ) -> webhooks_pb2.PublishEventsResponse:
        accepted, duplicates = await self._events.publish(incoming_events(request))
        return webhooks_pb2.PublishEventsResponse(accepted_count=accepted, duplicate_count=duplicates)
