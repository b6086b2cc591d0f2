"""An admin turns on a second factor from their account page and signs in with it, at a
desk's width and a phone's, and the browser refuses nothing under the app's policy.

The app runs without Temporal (``tests.web.test_signin``'s desk): none of these pages asks
it anything."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from opsdesk.db import Database
from tests.conftest import BROWSER
from tests.staff import PASSWORD, person
from tests.web.test_second_factor import code
from tests.web.test_signin import Desk, _desk

pytestmark = BROWSER

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
async def desk(db: Database, tmp_path: Path) -> AsyncIterator[Desk]:
    await person(db)
    async for made in _desk(db, tmp_path):
        yield made


async def _tab(browser: Browser, width: int) -> tuple[Page, list[str]]:
    """A tab that has not signed in, and the console's complaints about the page's policy."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    refused: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", heard)
    return page, refused


async def _password(page: Page, base: str) -> None:
    await page.goto(f"{base}/signin?next=/account")
    await page.get_by_label("Name").fill("ops")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()


@pytest.mark.parametrize("width", [1440, 390])
async def test_an_admin_turns_on_a_second_factor_and_signs_in_with_it(
    desk: Desk, browser: Browser, width: int
) -> None:
    base = str(desk.http.base_url).rstrip("/")
    page, refused = await _tab(browser, width)
    try:
        await _password(page, base)
        await expect(page.locator("[data-who]")).to_have_text("ops")
        await page.get_by_role("link", name="A code from an authenticator app").click()
        await expect(page.locator("[data-factor-state]")).to_contain_text("Off.")
        await page.get_by_label("Your password").fill(PASSWORD)
        await page.get_by_role("button", name="Set up an authenticator app").click()

        qr = page.get_by_role("img", name="QR code for your authenticator app")
        await expect(qr).to_be_visible()
        assert await qr.evaluate("img => img.naturalWidth > 0")
        shown = await page.locator("[data-secret]").inner_text()
        assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", shown), shown
        assert await page.evaluate(FITS)
        secret = shown.replace(" ", "")

        await page.get_by_label("The code your app shows now").fill(code(secret))
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
        await expect(page.get_by_text("They are shown only now.")).to_be_visible()
        assert await page.evaluate(FITS)

        await page.get_by_role("button", name="Sign out").click()
        await _password(page, base)
        await expect(page).to_have_title("Your code · Ops Desk")
        await expect(page.locator("[data-who]")).to_have_count(0)
        await page.get_by_label("Code").fill("000000")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("alert")).to_contain_text("That code does not match")
        assert await page.evaluate(FITS)
        await page.get_by_label("Code").fill(code(secret, 1))
        await page.get_by_role("button", name="Continue").click()
        await expect(page).to_have_url(f"{base}/account")
        await expect(page.locator("[data-who]")).to_have_text("ops")
        assert refused == []
    finally:
        await page.context.close()
