"""Webhook endpoints: add one (its secret shown once), rotate its secret, enable it, send
a test event and watch its deliveries."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import PAGE_SIZE_MAX, ApiError
from portal.delivery_health import endpoint_health, retry_schedule_total
from portal.rendering import render_page
from portal.web import api, checked_form, field, path_id, redirect, signed_in

EVENT_TYPES: Final = (
    "transaction.created",
    "transaction.completed",
    "transaction.failed",
    "transaction.canceled",
    "account.balance.updated",
)
URL_CHARS_MAX: Final = 2048
DESCRIPTION_CHARS_MAX: Final = 500
OVERLAP_HOURS_DEFAULT: Final = 24
OVERLAP_HOURS_MAX: Final = 7 * 24
DELIVERIES_SHOWN_MAX: Final = 25
DISABLED_REASON_CHARS_MAX: Final = 500


async def _list_page(
    request: Request, *, error: str = "", status_code: int = 200, form: dict[str, Any] | None = None
) -> Response:
    session = signed_in(request)
    listing = await api(request).call(
        session, "GET", "/api/v1/webhook-endpoints", params={"page_size": PAGE_SIZE_MAX}
    )
    context = {
        "endpoints": listing.get("endpoints", []),
        "event_types": EVENT_TYPES,
        "error": error,
        "form": form or {"url": "", "description": "", "event_types": []},
    }
    return render_page(request, "webhooks.html", context, session=session, status_code=status_code)


async def show_endpoints(request: Request) -> Response:
    return await _list_page(request)


async def create_endpoint(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    url = field(form, "url")[:URL_CHARS_MAX]
    description = field(form, "description")[:DESCRIPTION_CHARS_MAX]
    event_types = [t for t in form.getlist("event_types") if isinstance(t, str) and t in EVENT_TYPES]
    submitted = {"url": url, "description": description, "event_types": event_types}
    if not url:
        return await _list_page(request, error="Give the endpoint's URL.", status_code=422, form=submitted)
    try:
        created = await api(request).call(
            session,
            "POST",
            "/api/v1/webhook-endpoints",
            body={"url": url, "description": description, "eventTypes": event_types},
            idempotency_key=field(form, "idempotency_key") or None,
        )
    except ApiError as failure:
        return await _list_page(request, error=failure.message, status_code=failure.status, form=submitted)
    session.put_flash(f"endpoint:{created['id']}", {"secret": str(created.get("secret", ""))})
    return redirect(f"/portal/webhooks/{created['id']}")


async def show_endpoint(request: Request) -> Response:
    session = signed_in(request)
    endpoint_id = path_id(request, "endpoint_id")
    endpoint = await api(request).call(session, "GET", f"/api/v1/webhook-endpoints/{endpoint_id}")
    deliveries = (
        await api(request).call(
            session,
            "GET",
            f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries",
            params={"page_size": DELIVERIES_SHOWN_MAX},
        )
    ).get("deliveries", [])
    flash = session.pop_flash(f"endpoint:{endpoint_id}")
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "health": endpoint_health(endpoint, deliveries, retry_schedule_total()),
        "secret": flash["secret"] if flash else "",
        "notice": request.query_params.get("notice", ""),
        "overlap_hours_default": OVERLAP_HOURS_DEFAULT,
        "overlap_hours_max": OVERLAP_HOURS_MAX,
    }
    return render_page(request, "webhook.html", context, session=session, block="deliveries")


async def rotate_secret(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    endpoint_id = path_id(request, "endpoint_id")
    hours_text = field(form, "overlap_hours") or str(OVERLAP_HOURS_DEFAULT)
    hours = int(hours_text) if hours_text.isdigit() else OVERLAP_HOURS_DEFAULT
    hours = max(1, min(hours, OVERLAP_HOURS_MAX))
    rotated = await api(request).call(
        session,
        "POST",
        f"/api/v1/webhook-endpoints/{endpoint_id}:rotateSecret",
        body={"overlapSeconds": hours * 3600},
        idempotency_key=field(form, "idempotency_key") or None,
    )
    session.put_flash(f"endpoint:{endpoint_id}", {"secret": str(rotated.get("secret", ""))})
    return redirect(f"/portal/webhooks/{endpoint_id}", notice="rotated")


async def enable_endpoint(request: Request) -> Response:
    session = signed_in(request)
    await checked_form(request, session)
    endpoint_id = path_id(request, "endpoint_id")
    await api(request).call(session, "POST", f"/api/v1/webhook-endpoints/{endpoint_id}:enable", body={})
    return redirect(f"/portal/webhooks/{endpoint_id}", notice="enabled")


async def disable_endpoint(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session)
    endpoint_id = path_id(request, "endpoint_id")
    reason = field(form, "reason")[:DISABLED_REASON_CHARS_MAX]
    await api(request).call(
        session, "POST", f"/api/v1/webhook-endpoints/{endpoint_id}:disable", body={"reason": reason}
    )
    return redirect(f"/portal/webhooks/{endpoint_id}", notice="disabled")


async def test_endpoint(request: Request) -> Response:
    session = signed_in(request)
    await checked_form(request, session)
    endpoint_id = path_id(request, "endpoint_id")
    await api(request).call(session, "POST", f"/api/v1/webhook-endpoints/{endpoint_id}:test", body={})
    return redirect(f"/portal/webhooks/{endpoint_id}", notice="tested")


routes = [
    Route("/portal/webhooks", show_endpoints, methods=["GET"]),
    Route("/portal/webhooks", create_endpoint, methods=["POST"]),
    Route("/portal/webhooks/{endpoint_id}", show_endpoint, methods=["GET"]),
    Route("/portal/webhooks/{endpoint_id}/rotate-secret", rotate_secret, methods=["POST"]),
    Route("/portal/webhooks/{endpoint_id}/enable", enable_endpoint, methods=["POST"]),
    Route("/portal/webhooks/{endpoint_id}/disable", disable_endpoint, methods=["POST"]),
    Route("/portal/webhooks/{endpoint_id}/test", test_endpoint, methods=["POST"]),
]
