"""The lists' tools in Chromium, on a desk and a phone: saved views, selecting many orders or
requests and acting on them, the CSV of the list, and the keyboard."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.status import Stage
from opsdesk.orders.ids import order_label
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.scene import busy_desk
from tests.e2e.test_layout import MEASURE
from tests.e2e.test_list_fixes import PHONE, WIDTHS, opened
from tests.maintenance.helpers import BURST, LEAK, start, waiting_for
from tests.orders.helpers import until_status
from tests.waiting import eventually

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


async def test_cancel_many_orders_each_with_its_outcome(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    desk = await busy_desk(site)
    # On each width, two orders that may be cancelled and one that may not.
    rounds = {
        1440: ((desk.review, desk.confirmed), desk.shipped, "the order has already shipped"),
        PHONE: ((desk.awaiting_stock, desk.approved), desk.cancelled, "the order is already"),
    }
    for width, (cancellable, refused, why) in rounds.items():
        async with opened(browser, width, f"{site.base_url}/") as page:
            for order_id in (*cancellable, refused):
                await page.get_by_label(f"Select order {order_label(order_id)}").check()
            await expect(page.locator("[data-picked]")).to_have_text("3 selected:")
            await page.get_by_role("button", name="Cancel orders…").click()

            # First, what will happen, and nothing has yet.
            await expect(page.get_by_role("heading", name="Cancel 3 orders?")).to_be_visible()
            await expect(page.locator(".consequences")).to_contain_text("refunded in full")
            await expect(page.locator(".consequences")).to_contain_text("emailed")
            assert await page.evaluate(MEASURE) == [], f"at {width} px"
            state = (await site.get(f"/api/orders/{cancellable[1]}")).json()
            assert state["status"] == "CONFIRMED"

            await page.get_by_role("button", name="Cancel 3 orders").click()
            notice = page.locator("[data-notice]")
            for order_id in cancellable:
                await expect(notice).to_contain_text(f"{order_label(order_id)} cancelled")
            await expect(notice).to_contain_text(
                f"{order_label(refused)} could not be cancelled: {why}"
            )
            await until_status(site, cancellable[1], "CANCELLED")


async def test_approve_many_reviews(site: httpx.AsyncClient, browser: Browser) -> None:
    desk = await busy_desk(site)
    async with opened(browser, 1440, f"{site.base_url}/") as page:
        await page.get_by_label("Select every order on this page").check()
        await expect(page.locator("[data-picked]")).to_have_text("6 selected:")
        await page.get_by_role("button", name="Approve reviews").click()
        notice = page.locator("[data-notice]")
        await expect(notice).to_contain_text(f"{order_label(desk.review)} approved")
        await expect(notice).to_contain_text(f"{order_label(desk.shipped)} could not be approved")
    await until_status(site, desk.review, "CONFIRMED")
    # Nothing but the review moved: "approve" never ships a confirmed order.
    assert (await site.get(f"/api/orders/{desk.confirmed}")).json()["status"] == "CONFIRMED"


async def test_cancel_many_requests_says_why(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    browser: Browser,
    db: Database,
    settings: Settings,
) -> None:
    await Directory(db).import_directory(sample_directory())
    handles = [await start(dev_env.client, settings, text) for text in (LEAK, BURST)]
    ids = [request_id_of(h.id) for h in handles]
    await waiting_for(handles[0], Stage.OWNER_APPROVAL)
    await waiting_for(handles[1], Stage.VENDOR_QUOTE)

    async def listed() -> str:
        return (await site.get("/fragments/maintenance/requests")).text

    await eventually(listed, lambda html: all(i in html for i in ids), timeout=30)
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/maintenance") as page:
            for request_id in ids:
                await page.get_by_label(f"Select request {request_id}").check()
            await page.get_by_role("button", name="Cancel requests…").click()
            await expect(page.get_by_role("heading", name="Cancel 2 requests?")).to_be_visible()
            assert await page.evaluate(MEASURE) == [], f"at {width} px"
            if width == PHONE:
                await page.get_by_role("link", name="Keep them").click()
                await expect(page).to_have_url(f"{site.base_url}/maintenance")
                continue
            await page.get_by_label("Why (everyone involved is told)").fill("Duplicate reports")
            await page.get_by_role("button", name="Cancel 2 requests").click()
            for request_id in ids:
                await expect(page.locator("[data-notice]")).to_contain_text(
                    f"{request_id} cancelled"
                )


async def test_the_keyboard_moves_selects_searches_and_opens(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    desk = await busy_desk(site)
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/") as page:
            rows = page.locator("tr[data-order]")
            await expect(rows).to_have_count(6)
            order = await rows.evaluate_all("rows => rows.map(r => r.dataset.order)")

            await page.keyboard.press("?")
            shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
            await expect(shortcuts).to_be_visible()
            await expect(shortcuts).to_contain_text("select the row")
            await page.keyboard.press("Escape")
            await expect(shortcuts).to_be_hidden()

            await page.keyboard.press("j")
            await expect(page.locator("tr.current")).to_have_attribute("data-order", order[0])
            await page.keyboard.press("j")
            await page.keyboard.press("ArrowDown")
            await expect(page.locator("tr.current")).to_have_attribute("data-order", order[2])
            await page.keyboard.press("k")
            await expect(page.locator("tr.current")).to_have_attribute("data-order", order[1])
            await page.keyboard.press("x")
            await expect(page.locator("tr.current [data-pick]")).to_be_checked()
            await expect(page.locator("[data-picked]")).to_have_text("1 selected:")

            # "/" goes to the search box; what is typed there is the box's.
            await page.keyboard.press("/")
            search = page.get_by_role("searchbox", name="Search")
            await expect(search).to_be_focused()
            await page.keyboard.type("jk")
            await expect(search).to_have_value("jk")
            await expect(page.locator("tr.current")).to_have_attribute("data-order", order[1])
            await page.keyboard.press("Escape")

            await page.locator("tr.current").focus()
            await page.keyboard.press("Enter")
            await expect(page).to_have_url(f"{site.base_url}/orders/{order[1]}")
    assert desk.review in order
