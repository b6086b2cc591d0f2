"""A person at the browser: signing in as ops staff do."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.staff import NAME, PASSWORD


async def sign_in(page: Page, url: str, name: str = NAME, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form of the app at ``url`` (any address of it)."""
    parts = urlsplit(url)
    await page.goto(f"{parts.scheme}://{parts.netloc}/signin")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("[data-who]")).to_have_text(name)


def app_under_test(request: pytest.FixtureRequest) -> str | None:
    """The base URL of the app the test serves (``site``, ``desk`` or a test's own fixture
    whose value is, or starts with, the client for it), if it has been set up already."""
    for value in request.node.funcargs.values():
        client = value[0] if isinstance(value, tuple) and value else value
        if isinstance(client, httpx.AsyncClient):
            return str(client.base_url)
    return None
