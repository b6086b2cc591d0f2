"""The API's reference pages work on a machine without internet: every script and style
they load comes from the app itself. Swagger UI runs under the app's Content-Security-Policy
(no inline script), and the browser refuses nothing on it."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from playwright.async_api import ConsoleMessage, Page, Route, expect

from opsdesk.web.guard import CONTENT_SECURITY_POLICY
from tests.conftest import BROWSER

pytestmark = BROWSER

LOCAL = {"127.0.0.1", "localhost"}


async def _offline(page: Page) -> list[str]:
    """Refuse every request that leaves the machine, as a closed network does; the list
    fills with what was asked for but pictures (ReDoc's footer shows its maker's logo)."""
    asked: list[str] = []

    async def refuse_remote(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL:
            await route.continue_()
            return
        if route.request.resource_type != "image":
            asked.append(route.request.url)
        await route.abort("internetdisconnected")

    await page.route("**/*", refuse_remote)
    return asked


async def test_swagger_ui_lists_the_operations_without_internet(
    site: httpx.AsyncClient, page: Page
) -> None:
    asked = await _offline(page)
    refused: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", heard)
    opened = await page.goto(f"{site.base_url}/docs")
    assert opened is not None
    assert opened.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible(timeout=20_000)
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/orders").first
    ).to_be_visible()
    assert await operations.count() > 20
    assert asked == []
    assert refused == []


async def test_redoc_shows_the_reference_without_internet(
    site: httpx.AsyncClient, page: Page
) -> None:
    asked = await _offline(page)
    await page.goto(f"{site.base_url}/redoc")
    # ReDoc reads the whole schema before it shows anything: on a busy machine, a while.
    title = page.locator("h1", has_text="Ops Desk")
    await expect(title).to_be_visible(timeout=30_000)
    await expect(page.locator("[data-section-id^='tag/']").first).to_be_attached()
    assert asked == []
