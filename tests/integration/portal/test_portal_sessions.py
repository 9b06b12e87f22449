"""The portal's session against the real API: a refresh happens silently (once, even for
concurrent requests), and a session the API no longer accepts returns to sign-in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from portal.app import build_app
from portal.security import SESSION_COOKIE
from portal.sessions import ApiTokens, PortalSession, SessionStore
from portal.settings import load_portal_settings
from tests.harness.engine import EngineHandle

CONCURRENT_PAGES = 5


@pytest.fixture
async def portal(engine_stack: EngineHandle) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = load_portal_settings({"PE_PORTAL_API_URL": engine_stack.base_url, "PE_MODE": "sandbox"})
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/portal/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed = await client.post(
            "/portal/signin",
            data={
                "csrf_token": token.group(1),
                "username": engine_stack.credentials.username,
                "password": engine_stack.credentials.password,
            },
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/portal/"
        yield app, client
        await app.state.api.aclose()


def only_session(app: Starlette, client: httpx.AsyncClient) -> tuple[PortalSession, ApiTokens]:
    sessions: SessionStore = app.state.sessions
    session = sessions.get(client.cookies.get(SESSION_COOKIE))
    assert session is not None and session.tokens is not None
    return session, session.tokens


async def test_an_expired_access_token_is_refreshed_once_and_silently(
    portal: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = portal
    _, first = only_session(app, client)
    # The token is due for refresh: several pages at once still refresh it only once
    # (the engine would end the session if one refresh token were used twice).
    first.refresh_after_s = 0.0
    pages = await asyncio.gather(*(client.get("/portal/keys") for _ in range(CONCURRENT_PAGES)))
    assert [p.status_code for p in pages] == [200] * CONCURRENT_PAGES
    _, refreshed = only_session(app, client)
    assert refreshed is not first and refreshed.refresh_token != first.refresh_token
    # An access token the API refuses (401) is refreshed too, and the page still shows.
    refreshed.access_token = "not-a-token"
    page = await client.get("/portal/webhooks")
    assert page.status_code == 200 and "Webhook endpoints" in page.text


async def test_a_session_the_api_no_longer_accepts_returns_to_sign_in(
    portal: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = portal
    _, tokens = only_session(app, client)
    tokens.access_token = "not-a-token"
    tokens.refresh_token = "rt_not-a-refresh-token"
    page = await client.get("/portal/keys")
    assert page.status_code == 303
    assert page.headers["location"] == "/portal/signin?expired=1"
    again = await client.get("/portal/keys")
    assert again.status_code == 303 and again.headers["location"].startswith("/portal/signin")
    expired = await client.get("/portal/signin?expired=1")
    assert "Your session has ended" in expired.text


async def test_signing_out_ends_the_session_at_the_api_too(
    portal: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = portal
    _, tokens = only_session(app, client)
    refresh_token = tokens.refresh_token
    page = await client.get("/portal/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    out = await client.post("/portal/signout", data={"csrf_token": token.group(1)})
    assert out.status_code == 303 and out.headers["location"] == "/portal/signin"
    assert (await client.get("/portal/")).status_code == 303
    async with httpx.AsyncClient(base_url=app.state.settings.api_url) as api:
        refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401
