"""Events: taken from producers (idempotent by id) and fanned out to subscribed
endpoints in one unit of work; listed and fetched by integrators reconciling what they
missed; redelivered on request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit, unit_of_work
from corelib.direct_sql import DirectPool
from corelib.errors import ServiceError
from corelib.ids import has_prefix, new_id
from corelib.outbox import EVENT_DATA_BYTES_MAX, TENANT_ID_LENGTH_MAX, validate_event
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.webhooks import repository
from services.webhooks.delivery_rules import TRIGGER_EVENT, TRIGGER_REDELIVERY
from services.webhooks.repository import PENDING, DeliveryRow, EndpointRow, EventRow
from services.webhooks.subscriptions import FAMILY_SUFFIX, is_valid_filter, subscribes

PUBLISH_BATCH_MAX: Final = 500
REDELIVERY_ENDPOINTS_MAX: Final = 100
# validate_event measures data as compact json.dumps, which writes each non-ASCII
# character as a \uXXXX escape: at most 6 bytes for each byte of the event's JSON text
# (its UTF-8; escapes, literals and numbers grow less). Data this far under the limit in
# its text is within it in that measure, without the slower exact one.
_DATA_SIZE_RATIO_MAX: Final = 6
# Event types validate_event accepted: a handful in practice, bounded all the same.
_ACCEPTED_EVENT_TYPES_MAX: Final = 256
_accepted_event_types: set[str] = set()


@dataclass(frozen=True)
class IncomingEvent:
    event_id: str
    tenant_id: str
    event_type: str
    created_at: datetime | None
    data: dict[str, Any]
    # `data` as JSON text, stored as it is.
    data_json: bytes


def tenant_of(caller: Principal) -> str:
    if not caller.tenant_id:
        raise ServiceError("FORBIDDEN", "Webhooks belong to a tenant; this caller has none")
    return caller.tenant_id


def _checked(event: IncomingEvent) -> IncomingEvent:
    if not has_prefix(event.event_id, "evt"):
        raise ServiceError(
            "INVALID_REQUEST",
            "event id must be an evt_ id",
            {"field": "eventId", "value": event.event_id[:64]},
        )
    if _plainly_valid(event):
        return event
    try:
        validate_event(tenant_id=event.tenant_id, event_type=event.event_type, data=event.data)
    except ValueError as exc:
        raise ServiceError("INVALID_REQUEST", str(exc), {"eventId": event.event_id}) from exc
    if len(_accepted_event_types) < _ACCEPTED_EVENT_TYPES_MAX:
        _accepted_event_types.add(event.event_type)
    return event


def _plainly_valid(event: IncomingEvent) -> bool:
    """A quick yes for an event validate_event certainly accepts; a no leaves the verdict,
    and the error, to validate_event itself."""
    return (
        0 < len(event.tenant_id) <= TENANT_ID_LENGTH_MAX
        and event.event_type in _accepted_event_types
        and len(event.data_json) * _DATA_SIZE_RATIO_MAX <= EVENT_DATA_BYTES_MAX
    )


def fan_out(
    event_ids: Sequence[str], by_id: dict[str, IncomingEvent], endpoints: Sequence[EndpointRow]
) -> list[dict[str, Any]]:
    """One delivery row per (event, endpoint of its tenant subscribed to its type)."""
    by_tenant: dict[str, list[EndpointRow]] = {}
    for endpoint in endpoints:
        by_tenant.setdefault(endpoint.tenant_id, []).append(endpoint)
    rows = []
    for event_id in event_ids:
        event = by_id[event_id]
        for endpoint in by_tenant.get(event.tenant_id, []):
            if subscribes(endpoint.event_types, event.event_type):
                rows.append(_delivery_row(event_id, event.tenant_id, endpoint.id, TRIGGER_EVENT))
    return rows


def _delivery_row(event_id: str, tenant_id: str, endpoint_id: str, trigger: str) -> dict[str, Any]:
    now = utc_now()
    return {
        "id": new_id("dlv"),
        "tenant_id": tenant_id,
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "trigger": trigger,
        "status": PENDING,
        "next_attempt_at": now,
        "run_started_at": now,
    }


class Events:
    def __init__(
        self, engine: AsyncEngine, direct: DirectPool, *, deliveries_due: Callable[[], None]
    ) -> None:
        self._engine = engine
        # Publishing runs at the rate of payments: its two statements go to psycopg itself.
        self._direct = direct
        # Wakes this process's dispatcher, so a fresh delivery need not wait for a poll.
        self._deliveries_due = deliveries_due

    async def publish(self, incoming: Sequence[IncomingEvent]) -> tuple[int, int]:
        """(accepted, duplicates). The events and the deliveries they owe are stored in
        one statement: an event is never stored without them. The endpoints are read
        just before it, as a unit of work reading them after its insert would see them:
        an endpoint committed meanwhile owes nothing for events stored as it was made."""
        if len(incoming) > PUBLISH_BATCH_MAX:
            raise ServiceError(
                "INVALID_REQUEST", f"at most {PUBLISH_BATCH_MAX} events per call", {"field": "events"}
            )
        by_id = {event.event_id: _checked(event) for event in incoming}
        if not by_id:
            return 0, 0
        now = utc_now()
        rows = [
            {
                "id": e.event_id,
                "tenant_id": e.tenant_id,
                "event_type": e.event_type,
                "data": orjson.Fragment(e.data_json),
                "created_at": e.created_at or now,
            }
            for e in by_id.values()
        ]
        tenants = sorted({event.tenant_id for event in by_id.values()})
        async with self._direct.connection() as conn:
            endpoints = await repository.endpoints_of_tenants(conn, tenants)
            # Owed by every event if it is new; the statement keeps those of the new ones.
            deliveries = fan_out(list(by_id), by_id, endpoints)
            new_ids = await repository.store_events(conn, rows, deliveries)
        if deliveries and new_ids:
            self._deliveries_due()
        return len(new_ids), len(incoming) - len(new_ids)

    async def get(self, caller: Principal, event_id: str) -> EventRow:
        async with autocommit(self._engine) as conn:
            event = await repository.get_event(conn, tenant_of(caller), event_id)
        if event is None:
            raise ServiceError("NOT_FOUND", "Event not found", {"id": event_id})
        return event

    async def list_page(
        self,
        caller: Principal,
        *,
        page_size: int,
        page_token: str,
        event_type: str,
        created_after: datetime | None,
        created_before: datetime | None,
    ) -> tuple[list[EventRow], str]:
        tenant_id = tenant_of(caller)
        limit = pagination.page_size(page_size)
        query = pagination.page_query(
            "events",
            tenant_id,
            event_type=event_type,
            created_after=created_after,
            created_before=created_before,
        )
        before = _event_cursor(pagination.decode_page_token(page_token, query, {"t": str, "id": str}))
        event_type = event_type.strip()
        if event_type and not is_valid_filter(event_type):
            raise ServiceError(
                "INVALID_REQUEST",
                "eventType must be an event type (transaction.completed) or a family (transaction.*)",
                {"field": "eventType"},
            )
        family = event_type.removesuffix("*") if event_type.endswith(FAMILY_SUFFIX) else ""
        if created_after is not None and created_before is not None and created_after >= created_before:
            raise ServiceError(
                "INVALID_REQUEST", "createdAfter must be before createdBefore", {"field": "createdAfter"}
            )
        async with autocommit(self._engine) as conn:
            rows = await repository.list_events(
                conn,
                tenant_id,
                event_type="" if family else event_type,
                type_family=family,
                created_after=created_after,
                created_before=created_before,
                before=before,
                limit=limit + 1,
            )
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = pagination.encode_page_token(
                {"t": last.created_at.isoformat(), "id": last.id}, query
            )
        return rows[:limit], next_token

    async def redeliver(self, caller: Principal, event_id: str, endpoint_id: str) -> list[DeliveryRow]:
        tenant_id = tenant_of(caller)
        async with unit_of_work(self._engine) as conn:
            event = await repository.get_event(conn, tenant_id, event_id)
            if event is None:
                raise ServiceError("NOT_FOUND", "Event not found", {"id": event_id})
            if endpoint_id:
                endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id)
                if endpoint is None:
                    raise ServiceError("NOT_FOUND", "Webhook endpoint not found", {"id": endpoint_id})
                targets = [endpoint]
            else:
                endpoints = await repository.endpoints_of_tenants(conn, [tenant_id])
                targets = [e for e in endpoints if subscribes(e.event_types, event.event_type)]
            targets = targets[:REDELIVERY_ENDPOINTS_MAX]
            rows = [_delivery_row(event.id, tenant_id, e.id, TRIGGER_REDELIVERY) for e in targets]
            await repository.insert_deliveries(conn, rows)
            created = await repository.get_deliveries(conn, [row["id"] for row in rows]) if rows else []
        if created:
            self._deliveries_due()
        return created


def _event_cursor(cursor: dict[str, Any] | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    moment, event_id = cursor.get("t"), cursor.get("id")
    invalid = ServiceError("INVALID_REQUEST", "pageToken is not valid", {"field": "pageToken"})
    if not isinstance(moment, str) or not isinstance(event_id, str):
        raise invalid
    try:
        return datetime.fromisoformat(moment), event_id
    except ValueError as exc:
        raise invalid from exc
