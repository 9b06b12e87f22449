"""Reading the tenant's endpoints and their delivery logs through the API, in bounded
pages; shared by the events, endpoint and transaction pages."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Final

from starlette.requests import Request

from portal.api_client import PAGE_SIZE_MAX
from portal.rendering import parse_time
from portal.sessions import PortalSession
from portal.web import api

ENDPOINTS_SCANNED_MAX: Final = 20


def api_time(value: str) -> str:
    """A datetime-local field (or an ISO time) as the API's RFC 3339 UTC, or ""."""
    if not value:
        return ""
    moment = parse_time(value)
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def list_endpoints(request: Request, session: PortalSession) -> list[dict[str, Any]]:
    listing = await api(request).call(
        session, "GET", "/api/v1/webhook-endpoints", params={"page_size": ENDPOINTS_SCANNED_MAX}
    )
    return list(listing.get("endpoints", []))


async def list_deliveries(
    request: Request,
    session: PortalSession,
    endpoint_id: str,
    *,
    status: str = "",
    event_id: str = "",
    pages_max: int = 1,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = ""
    for _page in range(pages_max):
        params: dict[str, str | int] = {"page_size": PAGE_SIZE_MAX, "status": status, "event_id": event_id}
        if token:
            params["page_token"] = token
        page = await api(request).call(
            session, "GET", f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", params=params
        )
        found.extend(page.get("deliveries", []))
        token = str(page.get("nextPageToken") or "")
        if not token:
            break
    return found
