"""Webhook endpoints: create (secret shown once), list, get, update, delete, rotate the
secret with an overlap window, re-enable, send a test event, and read the delivery log."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from corelib import pagination
from corelib.db import autocommit, unit_of_work
from corelib.errors import ServiceError
from corelib.ids import new_id
from corelib.request_context import Principal
from corelib.timestamps import utc_now
from services.webhooks import repository
from services.webhooks.delivery import AttemptResult, DeliveryRecorder, attempt
from services.webhooks.delivery_rules import TRIGGER_TEST
from services.webhooks.dispatcher import lease_s_for
from services.webhooks.events import tenant_of
from services.webhooks.repository import (
    DISABLED,
    ENABLED,
    FAILED,
    PENDING,
    SUCCEEDED,
    AttemptRow,
    DeliveryRow,
    EndpointRow,
    EventRow,
)
from services.webhooks.sender import WebhookSender
from services.webhooks.signing import new_secret
from services.webhooks.subscriptions import validate_filters
from services.webhooks.target_safety import validate_endpoint_url

ENDPOINTS_PER_TENANT_MAX: Final = 50
DESCRIPTION_LENGTH_MAX: Final = 500
ROTATION_OVERLAP_DEFAULT: Final = timedelta(hours=24)
ROTATION_OVERLAP_MAX: Final = timedelta(days=7)
# The delivery log shows each delivery's latest attempts.
ATTEMPTS_SHOWN_MAX: Final = 20
UPDATABLE_FIELDS: Final = ("url", "description", "event_types")
TEST_EVENT_TYPE: Final = "webhook.test"
DELIVERY_STATUSES: Final = (PENDING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class DeliveryWithAttempts:
    delivery: DeliveryRow
    attempts: list[AttemptRow]


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    description: str | None = None
    event_types: list[str] | None = None


DISABLED_REASON_CHARS_MAX: Final = 500


def _not_found(endpoint_id: str) -> ServiceError:
    return ServiceError("NOT_FOUND", "Webhook endpoint not found", {"id": endpoint_id})


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > DESCRIPTION_LENGTH_MAX:
        raise ServiceError(
            "INVALID_REQUEST",
            f"description must be at most {DESCRIPTION_LENGTH_MAX} characters",
            {"field": "description"},
        )
    return text


def changes_from_mask(
    mask: Sequence[str], *, url: str, description: str, event_types: list[str]
) -> EndpointChanges:
    """AIP-134: the mask names what changes; without one, every non-empty field does."""
    if not mask:
        return EndpointChanges(
            url=url or None, description=description or None, event_types=event_types or None
        )
    unknown = sorted(set(mask) - set(UPDATABLE_FIELDS))
    if unknown:
        raise ServiceError(
            "INVALID_REQUEST",
            f"updateMask may name only {', '.join(UPDATABLE_FIELDS)}",
            {"field": "updateMask", "unknown": unknown},
        )
    return EndpointChanges(
        url=url if "url" in mask else None,
        description=description if "description" in mask else None,
        event_types=event_types if "event_types" in mask else None,
    )


class Endpoints:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        production: bool,
        sender: WebhookSender,
        recorder: DeliveryRecorder,
        timeout_s: float,
        deliveries_due: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._production = production
        self._sender = sender
        self._recorder = recorder
        self._lease_s = lease_s_for(timeout_s)
        self._deliveries_due = deliveries_due

    async def create(
        self, caller: Principal, *, url: str, description: str, event_types: list[str]
    ) -> EndpointRow:
        tenant_id = tenant_of(caller)
        checked_url = validate_endpoint_url(url, production=self._production)
        filters = validate_filters(event_types)
        text = _description(description)
        async with unit_of_work(self._engine) as conn:
            await repository.lock_tenant_endpoints(conn, tenant_id)
            if await repository.count_endpoints(conn, tenant_id) >= ENDPOINTS_PER_TENANT_MAX:
                raise ServiceError(
                    "INVALID_REQUEST",
                    f"A tenant has at most {ENDPOINTS_PER_TENANT_MAX} webhook endpoints",
                    {"maximum": ENDPOINTS_PER_TENANT_MAX},
                )
            return await repository.insert_endpoint(
                conn,
                endpoint_id=new_id("whe"),
                tenant_id=tenant_id,
                url=checked_url,
                description=text,
                event_types=filters,
                secret=new_secret(),
            )

    async def get(self, caller: Principal, endpoint_id: str) -> EndpointRow:
        async with autocommit(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_of(caller), endpoint_id)
        if endpoint is None:
            raise _not_found(endpoint_id)
        return endpoint

    async def list_page(
        self, caller: Principal, *, page_size: int, page_token: str
    ) -> tuple[list[EndpointRow], str]:
        tenant_id = tenant_of(caller)
        limit = pagination.page_size(page_size)
        query = pagination.page_query("webhook_endpoints", tenant_id)
        cursor = pagination.decode_page_token(page_token, query, {"before": str})
        before_id = cursor["before"] if cursor else None
        async with autocommit(self._engine) as conn:
            rows = await repository.list_endpoints(conn, tenant_id, before_id=before_id, limit=limit + 1)
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return rows[:limit], next_token

    async def update(self, caller: Principal, endpoint_id: str, changes: EndpointChanges) -> EndpointRow:
        tenant_id = tenant_of(caller)
        values: dict[str, object] = {}
        if changes.url is not None:
            values["url"] = validate_endpoint_url(changes.url, production=self._production)
        if changes.description is not None:
            values["description"] = _description(changes.description)
        if changes.event_types is not None:
            values["event_types"] = validate_filters(changes.event_types)
        async with unit_of_work(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id, for_update=True)
            if endpoint is None:
                raise _not_found(endpoint_id)
            if not values:
                return endpoint
            return await repository.update_endpoint(conn, endpoint_id, values)

    async def delete(self, caller: Principal, endpoint_id: str) -> None:
        tenant_id = tenant_of(caller)
        async with unit_of_work(self._engine) as conn:
            if await repository.get_endpoint(conn, tenant_id, endpoint_id, for_update=True) is None:
                raise _not_found(endpoint_id)
            await repository.delete_endpoint(conn, endpoint_id)

    async def rotate_secret(
        self, caller: Principal, endpoint_id: str, *, overlap_seconds: int
    ) -> EndpointRow:
        """A new secret; the current one becomes the previous, signing beside it until the
        overlap ends. A rotation during an overlap drops the older previous secret."""
        tenant_id = tenant_of(caller)
        if not 0 <= overlap_seconds <= ROTATION_OVERLAP_MAX.total_seconds():
            raise ServiceError(
                "INVALID_REQUEST",
                f"overlapSeconds must be between 0 and {int(ROTATION_OVERLAP_MAX.total_seconds())}",
                {"field": "overlapSeconds"},
            )
        overlap = timedelta(seconds=overlap_seconds) if overlap_seconds else ROTATION_OVERLAP_DEFAULT
        async with unit_of_work(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id, for_update=True)
            if endpoint is None:
                raise _not_found(endpoint_id)
            return await repository.update_endpoint(
                conn,
                endpoint_id,
                {
                    "secret": new_secret(),
                    "previous_secret": endpoint.secret,
                    "previous_secret_expires_at": utc_now() + overlap,
                },
            )

    async def disable(self, caller: Principal, endpoint_id: str, reason: str) -> EndpointRow:
        """Stops deliveries until `enable`; events keep queueing for the endpoint."""
        tenant_id = tenant_of(caller)
        reason = reason.strip()
        if len(reason) > DISABLED_REASON_CHARS_MAX:
            raise ServiceError(
                "INVALID_REQUEST",
                f"reason is longer than {DISABLED_REASON_CHARS_MAX} characters",
                {"field": "reason", "maxLength": DISABLED_REASON_CHARS_MAX},
            )
        async with unit_of_work(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id, for_update=True)
            if endpoint is None:
                raise _not_found(endpoint_id)
            if endpoint.status == DISABLED:
                return endpoint
            await repository.disable_endpoint(conn, endpoint_id, reason or "Disabled by the tenant.")
            disabled = await repository.get_endpoint(conn, tenant_id, endpoint_id)
        assert disabled is not None and disabled.status == DISABLED
        return disabled

    async def enable(self, caller: Principal, endpoint_id: str) -> EndpointRow:
        tenant_id = tenant_of(caller)
        async with unit_of_work(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id, for_update=True)
            if endpoint is None:
                raise _not_found(endpoint_id)
            if endpoint.status == ENABLED:
                return endpoint
            assert endpoint.status == DISABLED, endpoint.status
            updated = await repository.update_endpoint(
                conn,
                endpoint_id,
                {
                    "status": ENABLED,
                    "disabled_reason": "",
                    "disabled_at": None,
                    "consecutive_failures": 0,
                    "failing_since": None,
                },
            )
            rearmed = await repository.rearm_pending_deliveries(conn, endpoint_id)
        if rearmed:
            self._deliveries_due()
        return updated

    async def test(self, caller: Principal, endpoint_id: str) -> tuple[EventRow, DeliveryWithAttempts]:
        """Sends a `webhook.test` event now, once. Recorded like any delivery, but it
        never retries and never counts towards disabling the endpoint."""
        tenant_id = tenant_of(caller)
        event_id = new_id("evt")
        delivery_id = new_id("dlv")
        token = secrets.token_hex(8)
        async with unit_of_work(self._engine) as conn:
            endpoint = await repository.get_endpoint(conn, tenant_id, endpoint_id)
            if endpoint is None:
                raise _not_found(endpoint_id)
            await repository.insert_events(
                conn,
                [
                    {
                        "id": event_id,
                        "tenant_id": tenant_id,
                        "event_type": TEST_EVENT_TYPE,
                        "data": {
                            "endpointId": endpoint_id,
                            "message": "A test event from Payment Engine. No money moved.",
                        },
                        "created_at": utc_now(),
                    }
                ],
            )
            # No due time: only this call sends it, never a dispatcher.
            await repository.insert_deliveries(
                conn,
                [
                    {
                        "id": delivery_id,
                        "tenant_id": tenant_id,
                        "endpoint_id": endpoint_id,
                        "event_id": event_id,
                        "trigger": TRIGGER_TEST,
                        "status": PENDING,
                        "next_attempt_at": None,
                    }
                ],
            )
        async with unit_of_work(self._engine) as conn:
            claimed = await repository.claim_delivery(
                conn, delivery_id, lease_s=self._lease_s, claim_token=token
            )
        assert claimed is not None, "a test delivery is claimed only here"
        outcome = await attempt(self._sender, claimed)
        await self._recorder.record([AttemptResult(claimed, outcome)])
        async with autocommit(self._engine) as conn:
            event = await repository.get_event(conn, tenant_id, event_id)
            delivery = await repository.get_deliveries(conn, [delivery_id])
            attempts = await repository.attempts_of(conn, [delivery_id], per_delivery_max=ATTEMPTS_SHOWN_MAX)
        assert event is not None
        if not delivery:
            # The endpoint was deleted while the test ran.
            raise _not_found(endpoint_id)
        return event, DeliveryWithAttempts(delivery[0], attempts)

    async def list_deliveries(
        self,
        caller: Principal,
        endpoint_id: str,
        *,
        page_size: int,
        page_token: str,
        event_id: str,
        status: str,
    ) -> tuple[list[DeliveryWithAttempts], str]:
        tenant_id = tenant_of(caller)
        limit = pagination.page_size(page_size)
        query = pagination.page_query(
            "webhook_deliveries", tenant_id, endpoint_id=endpoint_id, event_id=event_id, status=status
        )
        cursor = pagination.decode_page_token(page_token, query, {"before": str})
        before_id = cursor["before"] if cursor else None
        if status and status not in DELIVERY_STATUSES:
            raise ServiceError("INVALID_REQUEST", "status is not a delivery status", {"field": "status"})
        async with autocommit(self._engine) as conn:
            if await repository.get_endpoint(conn, tenant_id, endpoint_id) is None:
                raise _not_found(endpoint_id)
            rows = await repository.list_deliveries(
                conn, endpoint_id, event_id=event_id, status=status, before_id=before_id, limit=limit + 1
            )
            page = rows[:limit]
            attempts = await repository.attempts_of(
                conn, [row.id for row in page], per_delivery_max=ATTEMPTS_SHOWN_MAX
            )
        by_delivery: dict[str, list[AttemptRow]] = {}
        for attempt_row in attempts:
            by_delivery.setdefault(attempt_row.delivery_id, []).append(attempt_row)
        next_token = (
            pagination.encode_page_token({"before": rows[limit - 1].id}, query) if len(rows) > limit else ""
        )
        return [DeliveryWithAttempts(row, by_delivery.get(row.id, [])) for row in page], next_token
