"""Overview: where the API is, the sandbox's test accounts and payment types, and where
the sandbox credentials are."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.api_client import PAGE_SIZE_MAX
from portal.rendering import render_page
from portal.web import api, redirect, signed_in


async def show_overview(request: Request) -> Response:
    session = signed_in(request)
    accounts = await api(request).call(
        session, "GET", "/api/v1/accounts", params={"page_size": PAGE_SIZE_MAX}
    )
    payment_types = await api(request).call(session, "GET", "/api/v1/payment-types")
    settings = request.app.state.settings
    context = {
        "base_url": settings.public_api_url,
        "accounts": accounts.get("accounts", []),
        "payment_types": payment_types.get("paymentTypes", []),
        "mode": settings.mode,
    }
    return render_page(request, "overview.html", context, session=session)


async def root(request: Request) -> Response:
    return redirect("/portal/")


routes = [
    Route("/portal/", show_overview, methods=["GET"], name="portal_root"),
    Route("/portal", root, methods=["GET"]),
    Route("/", root, methods=["GET"]),
]
