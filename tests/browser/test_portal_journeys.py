"""The developer portal in a real browser, against a real engine: an integrator's
journeys from key creation to a failed payment's webhook, with JavaScript on and off."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.portal_browser import Tenant, reload_until, sign_in
from tests.harness.engine import EngineHandle
from tests.integration.webhooks.receivers import Receiver

pytestmark = pytest.mark.timeout(240)


async def create_key_with_one_scope(page: Page, portal_url: str, name: str, scope: str) -> str:
    await page.goto(portal_url + "keys")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label(scope, exact=True).check()
    await page.get_by_role("button", name="Create key").click()
    secret_box = page.locator("#key-secret")
    await expect(secret_box).to_be_visible()
    return await secret_box.input_value()


async def journey_key(page: Page, engine: EngineHandle, portal_url: str) -> None:
    secret = await create_key_with_one_scope(page, portal_url, "reporting job", "account:read")
    assert secret.startswith("pe_")
    # Shown once: a reload of the same page no longer has it.
    await page.reload()
    await expect(page.locator("#key-secret")).to_have_count(0)
    await expect(page.locator("#secret-gone")).to_be_visible()
    assert secret not in await page.content()
    # The key works with exactly its one scope.
    async with httpx.AsyncClient(base_url=engine.base_url, headers={"X-API-Key": secret}) as http:
        assert (await http.get("/api/v1/accounts")).status_code == 200
        refused = await http.get("/api/v1/transactions")
        assert refused.status_code == 403, refused.text
        assert (await http.get("/api/v1/webhook-endpoints")).status_code == 403


async def journey_endpoint(page: Page, portal_url: str, receiver: Receiver) -> tuple[str, str]:
    """Adds an endpoint pointed at the receiver, sends a test: attempt 200. Returns the
    endpoint's page URL and its secret."""
    await page.goto(portal_url + "webhooks")
    await page.get_by_label("URL", exact=True).fill(receiver.url)
    await page.get_by_role("button", name="Add endpoint").click()
    secret = await page.locator("#endpoint-secret").input_value()
    assert secret.startswith("whsec_")
    endpoint_url = page.url
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.locator(".attempt .http-status").first).to_have_text("200")
    await receiver.wait_count(1)
    assert receiver.received[0].event["eventType"] == "webhook.test"
    return endpoint_url, secret


async def pay(page: Page, portal_url: str, tenant: Tenant, rail: str, amount: str) -> str:
    await page.goto(portal_url + "sandbox")
    await page.get_by_label("From", exact=True).select_option(tenant.payer)
    await page.get_by_label("To", exact=True).select_option(tenant.payee)
    await page.get_by_label("Rail").select_option(rail)
    await page.get_by_label("Amount", exact=True).fill(amount)
    await page.get_by_role("button", name="Send payment").click()
    await page.wait_for_url(re.compile(r".*/portal/transactions/txn_[a-z0-9]+$"))
    return page.url.rsplit("/", 1)[-1]


async def journey_failing_receiver(
    page: Page, portal_url: str, tenant: Tenant, receiver: Receiver, endpoint_url: str
) -> None:
    """The receiver answers 500: the attempt shows 500 and the next retry; once fixed,
    a redelivery gets 200."""
    receiver.default = 500
    await pay(page, portal_url, tenant, "RTP", "10.00")
    endpoint_id = endpoint_url.rsplit("/", 1)[-1]
    await page.goto(f"{portal_url}events?endpoint={endpoint_id}&status=pending")
    await reload_until(page, "article.delivery .http-status", "500")
    first = page.locator("article.delivery", has=page.locator(".http-status", has_text="500")).first
    await expect(first.locator(".http-status").first).to_have_text("500")
    await expect(first.locator(".next-retry")).to_be_visible()
    await first.locator("h3 a").click()
    await page.wait_for_url(re.compile(r".*/portal/events/evt_[a-z0-9]+$"))
    receiver.default = 200
    await page.get_by_label("To", exact=True).select_option(endpoint_id)
    await page.get_by_role("button", name="Redeliver").click()
    await reload_until(page, "article.delivery", "succeeded")
    redelivered = page.locator("article.delivery", has_text="redelivery")
    await expect(redelivered.locator(".http-status").first).to_have_text("200")


async def journey_failure_trigger(page: Page, portal_url: str, tenant: Tenant) -> str:
    """A sandbox RTP payment of 31.01 fails on its rail; its transaction.failed webhook shows."""
    transaction_id = await pay(page, portal_url, tenant, "RTP", "31.01")
    await reload_until(page, "#transaction-status", "FAILED")
    await expect(page.locator("#failure-reason")).to_contain_text("AC04 account closed")
    # The payment's trace starts from the request that created it.
    await expect(page.locator("#request-id")).to_have_text(re.compile(r"^req_[a-z0-9]+$"))
    await reload_until(page, "#trace table", "transaction.failed")
    await reload_until(page, "article.delivery h3", "transaction.failed")
    return transaction_id


async def journey_rotation(
    page: Page, portal_url: str, receiver: Receiver, endpoint_url: str, old_secret: str
) -> None:
    """After a rotation the checker tells a delivery signed with the old secret from one
    signed with the new."""
    before = receiver.received[0]
    await page.goto(endpoint_url)
    await page.get_by_role("button", name="Rotate secret").click()
    new_secret = await page.locator("#endpoint-secret").input_value()
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    count = len(receiver.received)
    await page.get_by_role("button", name="Send test event").click()
    await receiver.wait_count(count + 1)
    after = receiver.received[-1]
    for received, which in ((after, "current"), (before, "previous")):
        await page.goto(portal_url + "signatures")
        headers = "\n".join(f"{name}: {value}" for name, value in received.headers.items())
        await page.get_by_label("Headers", exact=False).fill(headers)
        await page.get_by_label("Raw body").fill(received.body.decode())
        await page.get_by_label("Current secret").fill(new_secret)
        await page.get_by_label("Previous secret", exact=False).fill(old_secret)
        await page.get_by_role("button", name="Check").click()
        verdicts = page.locator(".verdict")
        await expect(verdicts.nth(0)).to_have_text(f"verifies with the {which} secret")
        await expect(verdicts.nth(1)).to_have_text(f"verifies with the {which} secret")


async def journey_disable(page: Page, endpoint_url: str) -> None:
    """Disabled by hand, enabled again."""
    await page.goto(endpoint_url)
    await page.get_by_label("Reason (optional)").fill("receiver maintenance")
    await page.get_by_role("button", name="Disable endpoint").click()
    await expect(page.locator("#disabled-heading")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("receiver maintenance")
    await page.get_by_role("button", name="Enable again").click()
    await expect(page.locator("main")).to_contain_text("enabled again")
    await expect(page.get_by_role("button", name="Disable endpoint")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_an_integrator_does_everything_in_the_browser(
    browser: Browser, engine_stack: EngineHandle, tenant: Tenant, receiver: Receiver, javascript: bool
) -> None:
    context = await browser.new_context(java_script_enabled=javascript)
    csp_errors: list[str] = []
    page = await context.new_page()
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    portal_url = engine_stack.portal_url
    try:
        await sign_in(page, portal_url, tenant.username, tenant.password)
        await journey_key(page, engine_stack, portal_url)
        endpoint_url, secret = await journey_endpoint(page, portal_url, receiver)
        await journey_failing_receiver(page, portal_url, tenant, receiver, endpoint_url)
        await journey_failure_trigger(page, portal_url, tenant)
        await journey_rotation(page, portal_url, receiver, endpoint_url, secret)
        await journey_disable(page, endpoint_url)
    finally:
        await context.close()
    assert csp_errors == []
