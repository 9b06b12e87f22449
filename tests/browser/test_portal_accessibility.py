"""Every page of the portal passes axe-core's WCAG 2.2 AA rules and is photographed;
a key can be made with the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.portal_browser import TAB_PRESSES_MAX, axe_violations, describe, screenshot, sign_in
from tests.harness.engine import EngineHandle
from tests.integration.webhooks.receivers import Receiver

pytestmark = pytest.mark.timeout(240)


async def check_page(page: Page, axe_source: str, name: str, failures: dict[str, str]) -> None:
    await screenshot(page, name)
    violations = await axe_violations(page, axe_source)
    if violations:
        failures[name] = describe(violations)


async def test_every_page_meets_wcag_22_aa(
    browser: Browser, engine_stack: EngineHandle, axe_source: str, receiver: Receiver
) -> None:
    """With the sandbox credentials, as a new user after `payment-engine up`."""
    portal_url = engine_stack.portal_url
    credentials = engine_stack.credentials
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    failures: dict[str, str] = {}
    try:
        await page.goto(portal_url + "signin")
        await check_page(page, axe_source, "01-sign-in", failures)
        await sign_in(page, portal_url, credentials.username, credentials.password)
        await expect(page.locator("main")).to_contain_text("test_acc_001")
        await check_page(page, axe_source, "02-overview", failures)

        await page.goto(portal_url + "keys")
        await page.get_by_label("Name", exact=True).fill("accessibility check")
        await page.get_by_label("account:read", exact=True).check()
        await page.get_by_role("button", name="Create key").click()
        await expect(page.locator("#key-secret")).to_be_visible()
        await check_page(page, axe_source, "04-key-created", failures)
        key_url = page.url
        await page.goto(portal_url + "keys")
        await check_page(page, axe_source, "03-keys", failures)
        await page.goto(key_url)
        await page.get_by_role("button", name="Rotate key").click()
        await expect(page.locator("#rotation-heading")).to_be_visible()
        await check_page(page, axe_source, "05-key-rotated", failures)
        await page.get_by_role("link", name="Revoke the old key…").click()
        await check_page(page, axe_source, "06-key-revoke", failures)

        await page.goto(portal_url + "webhooks")
        await page.get_by_label("URL", exact=True).fill(receiver.url)
        await page.get_by_label("transaction.failed", exact=True).check()
        await page.get_by_role("button", name="Add endpoint").click()
        await page.get_by_role("button", name="Send test event").click()
        await expect(page.locator(".attempt .http-status").first).to_have_text("200")
        await check_page(page, axe_source, "08-webhook-endpoint", failures)
        endpoint_url = page.url.split("?", 1)[0]
        await page.goto(portal_url + "webhooks")
        await check_page(page, axe_source, "07-webhooks", failures)
        await page.goto(endpoint_url + "/recover")
        await page.get_by_role("button", name="Count them").click()
        await check_page(page, axe_source, "11-recover", failures)

        await page.goto(portal_url + "sandbox")
        await check_page(page, axe_source, "14-sandbox", failures)
        # Other tests add accounts to the sandbox tenant: name the guide's two.
        await page.get_by_label("From", exact=True).select_option("test_acc_001")
        await page.get_by_label("To", exact=True).select_option("test_acc_002")
        await page.get_by_label("Rail").select_option("WIRE_DOMESTIC")
        await page.get_by_label("Amount", exact=True).fill("21.02")
        await page.get_by_role("button", name="Send payment").click()
        await expect(page.locator("#transaction-status")).to_have_text("FAILED", timeout=30_000)
        await expect(page.locator("article.delivery").first).to_be_visible(timeout=30_000)
        await check_page(page, axe_source, "13-transaction", failures)
        await page.goto(portal_url + "transactions")
        await check_page(page, axe_source, "12-transactions", failures)

        await page.goto(portal_url + "events")
        await check_page(page, axe_source, "09-events", failures)
        await page.locator("tbody a[href*='/portal/events/evt_']").first.click()
        await expect(page.locator("#payload")).to_be_visible()
        await check_page(page, axe_source, "10-event", failures)

        await page.goto(portal_url + "signatures")
        received = receiver.received[0]
        await page.get_by_label("Headers", exact=False).fill(
            "\n".join(f"{k}: {v}" for k, v in received.headers.items())
        )
        await page.get_by_label("Raw body").fill(received.body.decode())
        await page.get_by_label("Current secret").fill("whsec_bm90IHRoZSByaWdodCBzZWNyZXQgYXQgYWxsIQ==")
        await page.get_by_role("button", name="Check").click()
        await expect(page.locator(".verdict").first).to_have_text("does not verify")
        await check_page(page, axe_source, "15-signature-checker", failures)

        await page.goto(portal_url + "reference")
        await check_page(page, axe_source, "16-api-reference", failures)
    finally:
        await context.close()
    assert failures == {}, "\n".join(f"{name}: {found}" for name, found in failures.items())


async def tab_to(page: Page, predicate_js: str) -> None:
    for _ in range(TAB_PRESSES_MAX):
        await page.keyboard.press("Tab")
        if await page.evaluate(predicate_js):
            return
    raise AssertionError(f"Tab never reached {predicate_js}")


async def test_a_key_is_made_with_the_keyboard_alone(browser: Browser, engine_stack: EngineHandle) -> None:
    portal_url = engine_stack.portal_url
    credentials = engine_stack.credentials
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(portal_url + "signin")
        await tab_to(page, "document.activeElement.id === 'username'")
        await page.keyboard.type(credentials.username)
        await page.keyboard.press("Tab")
        await page.keyboard.type(credentials.password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/portal/$"))
        await tab_to(page, "document.activeElement.textContent === 'API keys'")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/portal/keys$"))
        await tab_to(page, "document.activeElement.id === 'key-name'")
        await page.keyboard.type("keyboard only")
        await tab_to(page, "document.activeElement.value === 'transaction:read'")
        await page.keyboard.press("Space")
        await tab_to(page, "document.activeElement.textContent === 'Create key'")
        await page.keyboard.press("Enter")
        secret = page.locator("#key-secret")
        await expect(secret).to_be_visible()
        await expect(page.locator("main")).to_contain_text("transaction:read")
        assert (await secret.input_value()).startswith("pe_")
    finally:
        await context.close()
