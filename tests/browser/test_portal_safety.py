"""The portal keeps tenants apart and refuses posts that did not come from its own pages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, expect

from tests.browser.portal_browser import Tenant, new_tenant, sign_in
from tests.harness.engine import EngineHandle
from tests.harness.uvicorn_server import uvicorn_serving

pytestmark = pytest.mark.timeout(180)


async def test_a_second_tenant_sees_nothing_of_the_first(
    browser: Browser, engine_stack: EngineHandle, tenant: Tenant
) -> None:
    portal_url = engine_stack.portal_url
    async with httpx.AsyncClient(
        base_url=engine_stack.base_url, headers={"X-API-Key": tenant.api_key}
    ) as http:
        key = await http.post(
            "/api/v1/api-keys", json={"name": "first-tenant-key", "scopes": ["account:read"]}
        )
        endpoint = await http.post(
            "/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/first-tenant-hook"}
        )
        payment = await http.post(
            "/api/v1/transactions",
            json={
                "fromAccountId": tenant.payer,
                "toAccountId": tenant.payee,
                "paymentTypeId": "RTP",
                "amount": 5.00,
            },
            headers={"Idempotency-Key": f"isolation-{tenant.tenant_id}"},
        )
        assert key.status_code == 201 and endpoint.status_code == 201 and payment.status_code == 201
        transaction_id = payment.json()["id"]
        # Events reach the log through the outbox relay, a moment after the payment.
        for _ in range(100):
            events = (await http.get("/api/v1/events")).json()["events"]
            if any(e["data"].get("transactionId") == transaction_id for e in events):
                break
            await asyncio.sleep(0.1)
        assert events, "the first tenant's events never reached the event log"
    first_secrets = [
        tenant.payer,
        transaction_id,
        endpoint.json()["id"],
        "first-tenant-key",
        "first-tenant-hook",
    ]
    first_secrets += [e["eventId"] for e in events]

    other = await new_tenant(engine_stack, "Portal other tenant")
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await sign_in(page, portal_url, other.username, other.password)
        for path in ("", "keys", "webhooks", "events", "transactions", "sandbox"):
            await page.goto(portal_url + path)
            content = await page.content()
            assert [s for s in first_secrets if s in content] == [], path
        for path in (
            f"transactions/{transaction_id}",
            f"webhooks/{endpoint.json()['id']}",
            f"keys/{key.json()['apiKey']['id']}",
            f"events/{events[0]['eventId']}",
        ):
            response = await page.goto(portal_url + path)
            assert response is not None and response.status == 404, path
    finally:
        await context.close()


@contextlib.asynccontextmanager
async def hostile_site(html: str) -> AsyncIterator[str]:
    """A page on another site (localhost, not 127.0.0.1) that posts to the portal."""

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(send)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
        )
        await send({"type": "http.response.body", "body": html.encode()})

    async with uvicorn_serving(uvicorn.Config(app, log_level="error", lifespan="off")) as port:
        yield f"http://localhost:{port}/"


async def test_forged_and_cross_site_posts_are_refused(
    browser: Browser, engine_stack: EngineHandle, tenant: Tenant
) -> None:
    portal_url = engine_stack.portal_url
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await sign_in(page, portal_url, tenant.username, tenant.password)
        # Signed in, but without the page's CSRF token.
        forged = await context.request.post(
            portal_url + "keys", form={"name": "forged-key", "scopes": "account:read"}, max_redirects=0
        )
        assert forged.status == 403
        # With the token, but sent from another origin.
        await page.goto(portal_url + "keys")
        token = await page.locator("input[name=csrf_token]").first.input_value()
        cross = await context.request.post(
            portal_url + "keys",
            form={"csrf_token": token, "name": "cross-origin-key", "scopes": "account:read"},
            headers={"Origin": "http://localhost:1", "Sec-Fetch-Site": "cross-site"},
            max_redirects=0,
        )
        assert cross.status == 403
        # A real cross-site page that submits a form to the portal in the victim's browser.
        form = (
            f'<form id="f" method="post" action="{portal_url}keys">'
            '<input name="name" value="cross-site-key"><input name="scopes" value="account:read"></form>'
            "<script>document.getElementById('f').submit()</script>"
        )
        async with hostile_site(form) as hostile_url:
            await page.goto(hostile_url)
            await page.wait_for_url(lambda url: url.startswith(portal_url))
            assert "cross-site-key" not in await page.content()
        await page.goto(portal_url + "keys")
        await expect(page.locator("main")).not_to_contain_text("forged-key")
        await expect(page.locator("main")).not_to_contain_text("cross-origin-key")
        await expect(page.locator("main")).not_to_contain_text("cross-site-key")
    finally:
        await context.close()
