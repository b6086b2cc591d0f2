"""Photos from the tenant in Chromium, at a desktop's width and a phone's: the report form
takes a photo (no JavaScript needed: a multipart form), and the owner's link page and the
ops request page show it through links that load, without the page scrolling sideways."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from opsdesk.db import Database
from tests.conftest import BROWSER
from tests.e2e.test_link_pages import FITS, OWNER, TENANT, WIDTHS, tab
from tests.files import samples
from tests.maintenance.helpers import LEAK, link_for

pytestmark = BROWSER

LOADED = "img => img.complete && img.naturalWidth > 0"


async def _report_with_a_photo(tab_: Page, base_url: str, name: str) -> str:
    await tab_.goto(f"{base_url}/report")
    await tab_.select_option("select[name=property_id]", "harbor-12")
    await tab_.fill("input[name=unit]", "1A")
    await tab_.fill("input[name=name]", "Sam Rivera")
    await tab_.fill("input[name=email]", TENANT)
    await tab_.fill("textarea[name=description]", LEAK)
    await tab_.set_input_files(
        "input[name=photos]",
        {"name": name, "mimeType": "image/jpeg", "buffer": samples.jpeg_with_location(640, 480)},
    )
    await expect(tab_.locator("form")).to_contain_text("JPEG, PNG or HEIC photos up to 10 MB")
    assert await tab_.evaluate(FITS)
    await tab_.get_by_role("button", name="Send the report").click()
    await tab_.wait_for_url("**/report/received/*")
    return tab_.url.split("?")[0].rsplit("/", 1)[1]


async def test_a_photo_from_the_form_reaches_the_owner_and_ops(
    desk: httpx.AsyncClient, page: Page, db: Database, browser: Browser
) -> None:
    base_url = str(desk.base_url).rstrip("/")
    request_ids = []
    for width in WIDTHS:
        async with tab(browser, width) as tenant:
            request_ids.append(await _report_with_a_photo(tenant, base_url, f"sink-{width}.jpg"))

    request_id = request_ids[-1]
    async with tab(browser, 390) as owner:
        await owner.goto(f"{base_url}{await link_for(db, request_id, OWNER)}")
        photo = owner.locator("[data-files] img")
        await expect(photo).to_have_count(1)
        await expect(owner.locator("[data-files]")).to_contain_text("Sam Rivera with the report")
        assert await photo.evaluate(LOADED)
        assert await owner.evaluate(FITS)

    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{base_url}/maintenance/{request_id}")
        thumbnail = page.locator("[data-files] img")
        await expect(thumbnail).to_have_count(1)
        await expect(thumbnail).to_have_attribute("alt", "sink-390.jpg")
        assert await thumbnail.evaluate(LOADED)
        assert await page.evaluate(FITS)
    # The thumbnail opens the photo itself.
    async with page.context.expect_page() as opened:
        await page.locator("[data-files] a").first.click()
    shown = await opened.value
    await shown.wait_for_load_state()
    assert shown.url.startswith(f"{base_url}/files/")
