"""The portal as an ASGI application: its pages, its static files, its error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from portal.api_client import ApiError, EngineApi, SessionExpired
from portal.pages import (
    events,
    keys,
    overview,
    reference,
    sandbox,
    signatures,
    signin,
    transactions,
    webhooks,
)
from portal.rendering import render_page
from portal.security import SESSION_COOKIE, SecurityHeaders
from portal.sessions import SessionStore
from portal.settings import PortalSettings
from portal.web import FormRefused, SignInRequired, UnknownResource, current_session, redirect, store

log = structlog.get_logger("portal.app")

STATIC_DIR: Final = Path(__file__).parent / "static"


async def _ready(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    expired = isinstance(exc, SessionExpired) or (isinstance(exc, SignInRequired) and exc.expired)
    session = current_session(request)
    if session is not None and isinstance(exc, SessionExpired):
        store(request).discard(session.session_id)
    if request.headers.get("hx-request") == "true":
        # htmx follows this header with a full page load, not a swap of the sign-in page
        # into a fragment.
        response: Response = PlainTextResponse("sign-in required", status_code=401)
        response.headers["HX-Redirect"] = "/portal/signin" + ("?expired=1" if expired else "")
    else:
        response = redirect("/portal/signin", expired="1" if expired else "")
    if isinstance(exc, SessionExpired):
        response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response


async def _form_refused(request: Request, exc: Exception) -> Response:
    log.warning("form_refused", path=request.url.path, origin=request.headers.get("origin"))
    context = {
        "title": "Request refused",
        "message": "This form was not sent from this portal's own page, or its page is out of date. "
        "Go back, reload the page and try again.",
    }
    return render_page(request, "error.html", context, session=current_session(request), status_code=403)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    status = 404 if exc.status == 404 else 502 if exc.status >= 500 else exc.status
    context = {
        "title": "Not found" if status == 404 else "The API refused this",
        "message": exc.message,
        "error": exc,
    }
    return render_page(request, "error.html", context, session=current_session(request), status_code=status)


async def _unknown(request: Request, exc: Exception) -> Response:
    context = {"title": "Not found", "message": "There is no such page."}
    return render_page(request, "error.html", context, session=current_session(request), status_code=404)


def build_app(settings: PortalSettings, api: EngineApi | None = None) -> Starlette:
    engine_api = api or EngineApi(settings.api_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine_api.aclose()

    routes = [
        Route("/portal/readyz", _ready, methods=["GET"]),
        Mount("/portal/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        *signin.routes,
        *overview.routes,
        *keys.routes,
        *webhooks.routes,
        *events.routes,
        *signatures.routes,
        *transactions.routes,
        *sandbox.routes,
        *reference.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            SignInRequired: _sign_in_required,
            SessionExpired: _sign_in_required,
            FormRefused: _form_refused,
            ApiError: _api_error,
            UnknownResource: _unknown,
            404: _unknown,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api = engine_api
    app.state.sessions = SessionStore()
    return app
