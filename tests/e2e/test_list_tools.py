"""The lists' tools in Chromium, on a desk and a phone: saved views, selecting many orders or
requests and acting on them, the CSV of the list, and the keyboard."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import BROWSER
from tests.e2e.test_layout import MEASURE
from tests.e2e.test_list_fixes import WIDTHS, opened

pytestmark = BROWSER


async def test_save_open_and_delete_a_view(site: httpx.AsyncClient, browser: Browser) -> None:
    for width in WIDTHS:
        name = f"Reviews at {width}"
        async with opened(browser, width, f"{site.base_url}/?status=REVIEW") as page:
            views = page.get_by_role("navigation", name="Saved views")
            await views.get_by_label("Name for this view").fill(name)
            await views.get_by_role("button", name="Save view").click()
            await expect(page.locator("[data-notice]")).to_contain_text(f"Saved “{name}”")
            tab = views.get_by_role("link", name=name)
            await expect(tab).to_have_attribute("aria-current", "page")
            assert await page.evaluate(MEASURE) == [], f"at {width} px"

            # From the whole list back to the view: its filters come back as chips.
            await views.get_by_role("link", name="All").click()
            await expect(page.locator("[data-chip]")).to_have_count(0)
            await tab.click()
            await expect(page.locator('[data-chip="status"]')).to_contain_text("Status: review")
            await expect(page).to_have_url(f"{site.base_url}/?status=REVIEW")

            # The same name twice is refused in words.
            await page.goto(f"{site.base_url}/?status=REVIEW&escalated=true")
            await views.get_by_label("Name for this view").fill(name)
            await views.get_by_role("button", name="Save view").click()
            await expect(page.locator("[data-notice]")).to_have_text(
                f"You already have a view called “{name}”: pick another name, or delete that "
                "one first."
            )

            await views.get_by_role("button", name=f"Delete the view {name}").click()
            await expect(page.locator("[data-notice]")).to_have_text(f"Deleted the view “{name}”.")
            await expect(views.get_by_role("link", name=name)).to_have_count(0)


async def test_views_of_the_maintenance_list(site: httpx.AsyncClient, browser: Browser) -> None:
    async with opened(
        browser, 1440, f"{site.base_url}/maintenance?priority=emergency&q=pipe"
    ) as page:
        views = page.get_by_role("navigation", name="Saved views")
        await views.get_by_label("Name for this view").fill("Burst pipes")
        await views.get_by_role("button", name="Save view").click()
        tab = views.get_by_role("link", name="Burst pipes")
        await expect(tab).to_have_attribute("href", "/maintenance?priority=emergency&q=pipe")
