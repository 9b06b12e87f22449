"""What the portal's browser tests share: Debian's Chromium under Playwright, axe-core
injected into pages, screenshots, and a tenant of their own on the test engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
from playwright.async_api import Page

from services.auth import provisioning
from services.auth.scopes import ALL_SCOPES
from tests.harness.engine import EngineHandle

ROOT: Final = Path(__file__).resolve().parents[2]
ENSURE_BROWSER: Final = ROOT / ".ci" / "ensure-browser"
SCREENSHOTS_DIR: Final = ROOT / "portal" / "screenshots"
DOCS_SCREENSHOTS_DIR: Final = ROOT / "portal" / "docs" / "screenshots"
# PE_PORTAL_DOC_SCREENSHOTS=1 also refreshes the README's pictures.
DOC_SCREENSHOTS_ENV: Final = "PE_PORTAL_DOC_SCREENSHOTS"
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WCAG_TAGS: Final = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
# Bounds of the waits for something the engine does in the background.
WAIT_DEADLINE_S: Final = 30.0
POLL_INTERVAL_S: Final = 0.5
TAB_PRESSES_MAX: Final = 80


@dataclass(frozen=True)
class BrowserTools:
    chromium: str
    node_modules: Path


def ensure_browser() -> BrowserTools | None:
    """None when Chromium cannot be installed here (no apt); the tests then skip."""
    done = subprocess.run([str(ENSURE_BROWSER)], capture_output=True, text=True, check=False)
    if done.returncode == 2:
        return None
    if done.returncode != 0:
        raise RuntimeError(f".ci/ensure-browser failed:\n{done.stderr}")
    chromium, node_modules = done.stdout.strip().splitlines()[-2:]
    return BrowserTools(chromium=chromium, node_modules=Path(node_modules))


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    username: str
    password: str
    api_key: str
    payer: str
    payee: str


async def new_tenant(engine: EngineHandle, label: str) -> Tenant:
    """A tenant with a user holding every scope and two funded USD accounts."""
    suffix = time.time_ns()
    tenant_id = await provisioning.create_tenant(engine.database_url, f"{label} {suffix}")
    username, password = f"{label.lower().replace(' ', '-')}-{suffix}", f"pw-{suffix}-portal"
    await provisioning.create_user(engine.database_url, tenant_id, username, password, list(ALL_SCOPES))
    _, api_key = await provisioning.create_api_key(
        engine.database_url, tenant_id, label, list(ALL_SCOPES), None
    )
    async with httpx.AsyncClient(
        base_url=engine.base_url, headers={"X-API-Key": api_key}, timeout=30
    ) as http:
        ids = []
        for name in ("Operating", "Supplier"):
            made = await http.post("/api/v1/accounts", json={"name": name, "currencyCode": "USD"})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        funded = await http.post(f"/api/v1/sandbox/accounts/{ids[0]}:fund", json={"amount": 1000.00})
        assert funded.status_code == 200, funded.text
    return Tenant(tenant_id, username, password, api_key, ids[0], ids[1])


async def sign_in(page: Page, portal_url: str, username: str, password: str) -> None:
    await page.goto(portal_url + "signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r".*/portal/$"))


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS_DIR / f"{name}.png"), full_page=True)
    if os.environ.get(DOC_SCREENSHOTS_ENV) == "1":
        DOCS_SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS_SCREENSHOTS_DIR / f"{name}.png"), full_page=False)


async def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the page as it is now. The script goes in
    through the DevTools protocol, which the page's CSP does not govern."""
    await page.evaluate(axe_source + "\n;undefined")
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)",
        list(WCAG_TAGS),
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)


async def reload_until(page: Page, selector: str, text: str, *, deadline_s: float = WAIT_DEADLINE_S) -> None:
    """Waits for `text` in `selector`, reloading the page as someone without JavaScript would."""
    stop_at = time.monotonic() + deadline_s
    while True:
        content = " ".join(await page.locator(selector).all_inner_texts())
        if text in content:
            return
        if time.monotonic() > stop_at:
            raise AssertionError(f"{text!r} never appeared in {selector}: {content[:500]!r}")
        await page.wait_for_timeout(POLL_INTERVAL_S * 1000 * 2)
        await page.reload()
