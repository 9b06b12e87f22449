"""Fixtures of the portal's browser tests: Chromium, axe-core, a receiver, a tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.portal_browser import CHROMIUM_ARGS, BrowserTools, Tenant, ensure_browser, new_tenant
from tests.harness.engine import EngineHandle
from tests.integration.webhooks.receivers import Receiver


@pytest.fixture(scope="session")
def browser_tools() -> BrowserTools:
    tools = ensure_browser()
    if tools is None:
        pytest.skip("Chromium is missing and apt-get is not available to install it")
    return tools


@pytest.fixture(scope="session")
def axe_source(browser_tools: BrowserTools) -> str:
    return (browser_tools.node_modules / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
async def browser(browser_tools: BrowserTools) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=browser_tools.chromium, headless=True, args=list(CHROMIUM_ARGS)
        )
        yield launched
        await launched.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


@pytest.fixture
async def tenant(engine_stack: EngineHandle) -> Tenant:
    return await new_tenant(engine_stack, "Portal journeys")
