"""Events and their deliveries: filters as GET parameters, an event's payload and every
attempt, redelivery, and recovery of an endpoint's failed deliveries since a time."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import ApiError
from portal.delivery_log import api_time, list_deliveries, list_endpoints
from portal.pages.webhooks import EVENT_TYPES
from portal.rendering import json_text, parse_time, render_page
from portal.sessions import PortalSession
from portal.web import api, checked_form, field, path_id, redirect, signed_in

DELIVERY_STATUSES: Final = {
    "pending": "WEBHOOK_DELIVERY_STATUS_PENDING",
    "succeeded": "WEBHOOK_DELIVERY_STATUS_SUCCEEDED",
    "failed": "WEBHOOK_DELIVERY_STATUS_FAILED",
}
# Bounds of what one page asks the API for.
DELIVERY_PAGES_MAX: Final = 10
RECOVER_EVENTS_MAX: Final = 500


def _within(created_at: str | None, after: str, before: str) -> bool:
    moment = parse_time(created_at)
    if moment is None:
        return True
    if after and moment < (parse_time(after) or moment):
        return False
    return not (before and moment >= (parse_time(before) or moment))


def _type_matches(event_type: str, wanted: str) -> bool:
    if not wanted:
        return True
    if wanted.endswith(".*"):
        return event_type.startswith(wanted[:-1])
    return event_type == wanted


async def show_events(request: Request) -> Response:
    session = signed_in(request)
    query = request.query_params
    filters = {
        "type": query.get("type", ""),
        "status": query.get("status", "") if query.get("status", "") in DELIVERY_STATUSES else "",
        "endpoint": query.get("endpoint", ""),
        "after": query.get("after", ""),
        "before": query.get("before", ""),
    }
    after, before = api_time(filters["after"]), api_time(filters["before"])
    endpoints = await list_endpoints(request, session)
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    next_token = ""
    if filters["endpoint"] or filters["status"]:
        # Delivery filters: the endpoints' delivery logs, narrowed to the type and times.
        chosen = [e for e in endpoints if not filters["endpoint"] or e["id"] == filters["endpoint"]]
        for endpoint in chosen:
            for delivery in await list_deliveries(
                request, session, endpoint["id"], status=DELIVERY_STATUSES.get(filters["status"], "")
            ):
                if _type_matches(str(delivery.get("eventType", "")), filters["type"]) and _within(
                    delivery.get("createdAt"), after, before
                ):
                    deliveries.append(delivery)
        deliveries.sort(key=lambda d: str(d.get("createdAt", "")), reverse=True)
    else:
        params: dict[str, str | int] = {
            "page_size": 50,
            "event_type": filters["type"],
            "created_after": after,
            "created_before": before,
            "page_token": query.get("page_token", ""),
        }
        listing = await api(request).call(session, "GET", "/api/v1/events", params=params)
        events = list(listing.get("events", []))
        next_token = str(listing.get("nextPageToken") or "")
    next_query = {k: v for k, v in filters.items() if v} | {"page_token": next_token}
    context = {
        "filters": filters,
        "endpoints": endpoints,
        "event_types": EVENT_TYPES,
        "statuses": list(DELIVERY_STATUSES),
        "events": events,
        "deliveries": deliveries,
        "by_deliveries": bool(filters["endpoint"] or filters["status"]),
        "next_query": next_query if next_token else None,
    }
    return render_page(request, "events.html", context, session=session)


def curl_command(url: str, event: Mapping[str, Any]) -> str:
    """The attempt as a curl command: the same body, to the same URL. The signature
    headers are left out: the secret never leaves the engine."""
    body = json_text(
        {
            "eventId": event.get("eventId"),
            "eventType": event.get("eventType"),
            "createdAt": event.get("createdAt"),
            "data": event.get("data", {}),
        }
    )
    return (
        f"curl -X POST {shlex.quote(url)} -H 'Content-Type: application/json' "
        f"-H {shlex.quote('X-Webhook-Id: ' + str(event.get('eventId', '')))} --data-raw {shlex.quote(body)}"
    )


async def show_event(request: Request) -> Response:
    session = signed_in(request)
    event_id = path_id(request, "event_id")
    event = await api(request).call(session, "GET", f"/api/v1/events/{event_id}")
    endpoints = await list_endpoints(request, session)
    deliveries: list[dict[str, Any]] = []
    for endpoint in endpoints:
        deliveries.extend(await list_deliveries(request, session, endpoint["id"], event_id=event_id))
    deliveries.sort(key=lambda d: str(d.get("createdAt", "")), reverse=True)
    urls = {e["id"]: e["url"] for e in endpoints}
    curls = {d["id"]: curl_command(urls.get(d.get("endpointId", ""), ""), event) for d in deliveries}
    context = {
        "event": event,
        "payload": json_text(event.get("data", {}), indent=2),
        "deliveries": deliveries,
        "endpoints": endpoints,
        "curls": curls,
        "notice": request.query_params.get("notice", ""),
    }
    return render_page(request, "event.html", context, session=session, block="deliveries")


async def redeliver_event(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    event_id = path_id(request, "event_id")
    endpoint_id = field(form, "endpoint_id")
    await api(request).call(
        session,
        "POST",
        f"/api/v1/events/{event_id}:redeliver",
        body={"endpointId": endpoint_id} if endpoint_id else {},
        idempotency_key=field(form, "idempotency_key") or None,
    )
    return redirect(f"/portal/events/{event_id}", notice="redelivered")


async def _recovery_plan(
    request: Request, session: PortalSession, endpoint_id: str, since: str
) -> tuple[list[str], list[str]]:
    """(events to send again, those of them that already reached the endpoint once)."""
    failed = await list_deliveries(
        request, session, endpoint_id, status=DELIVERY_STATUSES["failed"], pages_max=DELIVERY_PAGES_MAX
    )
    event_ids: list[str] = []
    for delivery in failed:
        event_id = str(delivery.get("eventId", ""))
        if _within(delivery.get("createdAt"), since, "") and event_id not in event_ids:
            event_ids.append(event_id)
    event_ids = event_ids[:RECOVER_EVENTS_MAX]
    succeeded = await list_deliveries(
        request, session, endpoint_id, status=DELIVERY_STATUSES["succeeded"], pages_max=DELIVERY_PAGES_MAX
    )
    delivered = {str(d.get("eventId", "")) for d in succeeded}
    return event_ids, [e for e in event_ids if e in delivered]


async def show_recover(request: Request) -> Response:
    session = signed_in(request)
    endpoint_id = path_id(request, "endpoint_id")
    endpoint = await api(request).call(session, "GET", f"/api/v1/webhook-endpoints/{endpoint_id}")
    since_text = request.query_params.get("since", "")
    since = api_time(since_text)
    plan: tuple[list[str], list[str]] | None = None
    if since:
        plan = await _recovery_plan(request, session, endpoint_id, since)
    context = {
        "endpoint": endpoint,
        "since": since_text,
        "since_iso": since,
        "event_ids": plan[0] if plan else [],
        "already_delivered": plan[1] if plan else [],
        "planned": plan is not None,
        "events_max": RECOVER_EVENTS_MAX,
        "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
    }
    return render_page(request, "recover.html", context, session=session)


async def recover(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    endpoint_id = path_id(request, "endpoint_id")
    since = api_time(field(form, "since"))
    if not since:
        return redirect(f"/portal/webhooks/{endpoint_id}/recover")
    event_ids, _delivered = await _recovery_plan(request, session, endpoint_id, since)
    sent = 0
    for event_id in event_ids:
        try:
            await api(request).call(
                session, "POST", f"/api/v1/events/{event_id}:redeliver", body={"endpointId": endpoint_id}
            )
            sent += 1
        except ApiError:
            continue
    return redirect(f"/portal/webhooks/{endpoint_id}", notice=f"recovered-{sent}")


routes = [
    Route("/portal/events", show_events, methods=["GET"]),
    Route("/portal/events/{event_id}", show_event, methods=["GET"]),
    Route("/portal/events/{event_id}/redeliver", redeliver_event, methods=["POST"]),
    Route("/portal/webhooks/{endpoint_id}/recover", show_recover, methods=["GET"]),
    Route("/portal/webhooks/{endpoint_id}/recover", recover, methods=["POST"]),
]
