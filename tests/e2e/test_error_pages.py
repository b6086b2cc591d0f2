"""What a browser gets where there is nothing to show: a page in the dashboard's layout with
the right status, never raw JSON; and no page load asks for something that is not there."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, Response, expect

from tests.conftest import BROWSER

pytestmark = BROWSER


async def test_an_unknown_order_is_a_page_not_json(site: httpx.AsyncClient, page: Page) -> None:
    answer = await page.goto(f"{site.base_url}/orders/nope")
    assert answer is not None
    assert answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    await expect(page).to_have_title("Not found · Ops Desk")
    await expect(page.locator("header.top")).to_be_visible()
    await expect(page.locator("[data-problem]")).to_contain_text("No order nope.")
    await page.get_by_role("link", name="Back to orders").click()
    await expect(page).to_have_url(f"{site.base_url}/")


async def test_an_unknown_page_is_a_page_and_the_api_keeps_json(
    site: httpx.AsyncClient, page: Page
) -> None:
    answer = await page.goto(f"{site.base_url}/no/such/page")
    assert answer is not None
    assert answer.status == 404
    await expect(page.locator("[data-problem]")).to_contain_text(
        "There is no page at /no/such/page."
    )

    api = await site.get("/api/orders/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


async def test_no_page_load_asks_for_something_missing(site: httpx.AsyncClient, page: Page) -> None:
    favicon = await site.get("/favicon.ico")
    assert favicon.status_code == 200
    assert favicon.headers["content-type"].startswith("image/svg+xml")

    failed: list[str] = []

    def record(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", record)
    for path in ("/", "/outbox"):
        await page.goto(f"{site.base_url}{path}")
        await expect(page.locator("[data-live].on")).to_be_attached()
    icon = await page.evaluate(
        "fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)"
    )
    assert icon == 200
    assert failed == []
