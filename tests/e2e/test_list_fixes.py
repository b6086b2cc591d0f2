"""What was broken on the two dashboards' lists, measured at 1440 and 390 px: a whole e-mail
address, a whole product choice, empty queues that take no phone screen, a one-line top bar,
zeros that raise no alarm, and a notice that never contradicts the row it is about."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.scene import LONG_EMAIL, busy_desk
from tests.e2e.test_layout import EMAIL_BREAKS, MEASURE
from tests.orders.helpers import until_status
from tests.waiting import eventually

pytestmark = BROWSER

WIDTHS = (1440, 390)
PHONE = 390


@asynccontextmanager
async def opened(
    browser: Browser, width: int, url: str, *, live: bool = False
) -> AsyncIterator[Page]:
    """A signed-in tab at ``width``; without ``live`` it holds still (no live refresh)."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    if not live:
        await context.route("**/api/events", lambda route: route.abort())
    page = await context.new_page()
    page.set_default_timeout(20_000)
    try:
        await sign_in(page, url)
        await page.goto(url)
        yield page
    finally:
        await context.close()


# The room a <select> has for the text of its choice, and the widest choice's text.
PICKER_ROOM = """
(select) => {
  const style = getComputedStyle(select);
  const canvas = document.createElement("canvas").getContext("2d");
  canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const widest = Math.max(...[...select.options].map((o) => canvas.measureText(o.text).width));
  // Chromium draws the drop-down arrow inside the right padding's room: about 20 px.
  const room = select.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight) - 20;
  return { widest, room };
}
"""


async def test_the_whole_email_address_shows_in_the_list(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    desk = await busy_desk(site)
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/") as page:
            where = f"at {width} px"
            row = page.locator(f'tr[data-order="{desk.confirmed}"]')
            email = row.locator(".email")
            await expect(email).to_have_text(LONG_EMAIL)
            cut = await email.evaluate("el => el.scrollWidth > el.clientWidth + 0.5")
            assert not cut, f"{where}: the address is cut off"
            breaks = await page.evaluate(EMAIL_BREAKS, LONG_EMAIL)
            assert all(b.split("|")[0].endswith("@") for b in breaks), f"{where}: {breaks}"
            if width != PHONE:
                # The list takes the width of the page, not what the side panels leave.
                share = await page.evaluate(
                    "() => document.querySelector('table.orders').getBoundingClientRect().width"
                    " / document.querySelector('main').clientWidth"
                )
                assert share > 0.9, f"{where}: the list uses {share:.0%} of the width"
            assert await page.evaluate(MEASURE) == [], where


async def test_the_product_picker_shows_each_whole_choice(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for width in (1280, *WIDTHS):
        async with opened(browser, width, f"{site.base_url}/") as page:
            picker = page.get_by_label("Product", exact=True)
            await expect(picker).to_contain_text("City bicycle")
            fit = await picker.evaluate(PICKER_ROOM)
            assert fit["widest"] <= fit["room"], f"at {width} px: {fit}"


async def test_empty_queues_take_one_line_on_a_phone(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for path in ("/", "/maintenance"):
        async with opened(browser, PHONE, f"{site.base_url}{path}") as page:
            cards = page.locator("section.queue")
            assert await cards.count() >= 3
            await expect(page.locator("section.queue:visible")).to_have_count(0)
            quiet = page.get_by_text("Nothing waiting in any queue.")
            await expect(quiet).to_be_visible()
            shown = await page.locator(":text('Nothing waiting'):visible").count()
            assert shown == 1, f"{path}: 'Nothing waiting' shown {shown} times"
        async with opened(browser, 1440, f"{site.base_url}{path}") as page:
            await expect(page.locator("section.queue:visible")).to_have_count(
                await page.locator("section.queue").count()
            )
            await expect(page.locator("[data-quiet]")).to_be_hidden()

    # With orders waiting, only the empty queue is folded into the line.
    await busy_desk(site)
    async with opened(browser, PHONE, f"{site.base_url}/") as page:
        await expect(page.locator("section.queue:visible")).to_have_count(2)
        await expect(page.locator("[data-quiet]")).to_have_text("Nothing waiting in: Escalated.")


async def test_the_top_bar_is_one_line_on_a_phone(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/") as page:
            where = f"at {width} px"
            # Every item of the bar sits on one line: their boxes share a vertical middle.
            middles = await page.evaluate(
                """() => [...document.querySelectorAll("header.top > *")]
                  .filter((el) => el.getBoundingClientRect().height > 0)
                  .map((el) => el.getBoundingClientRect())
                  .map((r) => r.top + r.height / 2)"""
            )
            assert max(middles) - min(middles) <= 4, f"{where}: {middles}"
            height = await page.locator("header.top").evaluate("el => el.offsetHeight")
            assert height <= 48, f"{where}: the bar is {height} px tall"
            assert await page.evaluate(MEASURE) == [], where
            if width == PHONE:
                await page.get_by_text("Menu", exact=True).click()
                await (
                    page.get_by_role("navigation", name="Pages")
                    .get_by_role("link", name="Maintenance")
                    .click()
                )
            else:
                await (
                    page.get_by_role("navigation", name="Sections")
                    .get_by_role("link", name="Maintenance")
                    .click()
                )
            await expect(page).to_have_url(f"{site.base_url}/maintenance")


# The colour of a metric's number and of the badge in a count.
COLOURS = """
() => {
  const style = (sel) => {
    const el = document.querySelector(sel);
    return el ? getComputedStyle(el) : {};
  };
  const colour = (sel) => style(sel).color || null;
  const fill = (sel) => style(sel).backgroundColor || null;
  return {
    plain: colour('[data-metric="total"]'),
    waiting: colour('[data-metric="waiting"]'),
    escalations: colour('[data-metric="escalations"]'),
    open: colour('[data-metric="open"]'),
    failedBadge: fill('.counts li:has([data-count="FAILED"]) .badge'),
    pendingBadge: fill('.counts li:has([data-count="PENDING"]) .badge'),
  };
}
"""


async def test_a_zero_is_not_coloured_as_an_alert(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/") as page:
            await expect(page.locator('[data-metric="escalations"]')).to_have_text("0")
            colours = await page.evaluate(COLOURS)
            assert colours["waiting"] == colours["plain"], colours
            assert colours["escalations"] == colours["plain"], colours
            # A status's colour is for the orders in it: with none, its badge is grey.
            assert colours["failedBadge"] == colours["pendingBadge"], colours
        async with opened(browser, width, f"{site.base_url}/maintenance") as page:
            await expect(page.locator('[data-metric="open"]')).to_have_text("0")
            colours = await page.evaluate(COLOURS)
            assert colours["open"] == colours["plain"], colours

    # A count that is not zero still stands out.
    await busy_desk(site)
    async with opened(browser, 1440, f"{site.base_url}/") as page:
        # The metrics are counted in the background: read the page again until they move.
        async def waiting() -> str:
            await page.reload()
            return await page.locator('[data-metric="waiting"]').inner_text()

        await eventually(waiting, lambda n: n == "2", timeout=30)
        colours = await page.evaluate(COLOURS)
        assert colours["waiting"] != colours["plain"], colours


async def test_a_notice_never_contradicts_its_row(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for width in WIDTHS:
        async with opened(browser, width, f"{site.base_url}/", live=True) as page:
            await expect(page.locator("[data-live]")).to_have_class("live on")

            # The new-order form's own "Order … is …" follows the order.
            form = page.locator("form.new-order")
            await form.get_by_label("Product", exact=True).select_option("LAMP-DESK")
            await form.get_by_label("Quantity").fill("4")
            await form.get_by_label("Customer name").fill("Notice Reader")
            await form.get_by_label("Customer email").fill(f"notice-{width}@example.com")
            await form.get_by_label("Street address").fill("1 Main St")
            await form.get_by_label("City").fill("Springfield")
            await form.get_by_role("button", name="Create order").click()
            ok = form.locator("[data-ok]")
            await expect(ok).to_contain_text("review")
            order_id = await ok.get_attribute("data-order")
            assert order_id
            await until_status(site, order_id, "REVIEW")
            approved = await site.post(f"/api/orders/{order_id}/advance")
            assert approved.status_code == 200, approved.text
            await expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_attribute(
                "data-status", "CONFIRMED"
            )
            await expect(ok).to_contain_text("is confirmed")

            # The page's notice (a form posted without the script) goes once its row moves.
            await page.evaluate(
                """(orderId) => {
                  const form = document.createElement("form");
                  form.method = "post";
                  form.action = `/orders/${orderId}/advance`;
                  const status = document.createElement("input");
                  status.name = "expected_status";
                  status.value = "CONFIRMED";
                  form.append(status);
                  document.body.append(form);
                  form.submit();
                }""",
                order_id,
            )
            notice = page.locator("[data-notice]")
            await expect(notice).to_contain_text(order_id)
            await expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_attribute(
                "data-status", "SHIPPED"
            )
            await expect(page.locator("[data-live]")).to_have_class("live on")
            delivered = await site.post(f"/api/orders/{order_id}/advance")
            assert delivered.status_code == 200, delivered.text
            await expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_attribute(
                "data-status", "DELIVERED"
            )
            await expect(notice).to_have_count(0)
