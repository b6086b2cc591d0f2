"""The dashboard as ops staff use it, in Chromium. Every step checks what the page shows."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from tests.conftest import BROWSER
from tests.orders.helpers import body, until_status

pytestmark = BROWSER


def row(page: Page, order_id: str) -> object:
    return page.locator(f'tr[data-order="{order_id}"]')


async def test_create_an_order_in_the_form_and_watch_it_appear(
    site: httpx.AsyncClient, page: Page
) -> None:
    await page.goto(f"{site.base_url}/")
    form = page.locator("form.new-order")
    await form.get_by_label("Product").select_option("MUG-01")
    await form.get_by_label("Quantity").fill("2")
    await form.get_by_label("Customer name").fill("Grace Hopper")
    await form.get_by_label("Customer email").fill("grace@example.com")
    await form.get_by_label("Street address").fill("1 Navy Way")
    await form.get_by_label("City").fill("Arlington")
    await form.get_by_label("Country (2 letters)").fill("us")
    await form.get_by_role("button", name="Create order").click()

    created = form.locator("[data-ok]")
    await expect(created).to_contain_text("Order ")
    order_id = (await created.locator("a").inner_text()).removeprefix("Order ").removeprefix("#")
    listed = page.locator(f'tr[data-order="{order_id}"]')
    await expect(listed).to_be_visible()
    await expect(listed.locator(".badge")).to_have_text("CONFIRMED")
    await expect(listed).to_contain_text("Grace Hopper")
    await expect(listed).to_contain_text("36.00 USD")
    await expect(page.locator('[data-count="CONFIRMED"]')).to_have_text("1")


async def test_an_order_from_elsewhere_appears_without_a_reload(
    site: httpx.AsyncClient, page: Page
) -> None:
    await page.goto(f"{site.base_url}/")
    await expect(page.locator("[data-live].on")).to_be_attached()
    order_id = (await site.post("/api/orders", json=body(customer="cus-live"))).json()["order_id"]
    await expect(page.locator(f'tr[data-order="{order_id}"]')).to_be_visible()


async def test_approve_a_review(site: httpx.AsyncClient, page: Page) -> None:
    order_id = (await site.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4))).json()[
        "order_id"
    ]
    await until_status(site, order_id, "REVIEW")
    await page.goto(f"{site.base_url}/?status=REVIEW")
    await expect(page.locator('[data-queue="review"]')).to_contain_text(order_id)
    listed = page.locator(f'tr[data-order="{order_id}"]')
    await expect(listed.get_by_role("button", name="Approve")).to_be_visible()
    await expect(listed.get_by_role("button", name="Reject")).to_be_visible()
    await expect(listed.get_by_role("button", name="Mark shipped")).to_have_count(0)

    await listed.get_by_role("button", name="Approve").click()
    # Approved, paid and allocated: it leaves the REVIEW filter and the review queue.
    await expect(listed).to_have_count(0)
    await expect(page.locator('[data-queue="review"]')).not_to_contain_text(order_id)
    await page.goto(f"{site.base_url}/orders/{order_id}")
    await expect(page.locator(".order-head .badge")).to_have_text("CONFIRMED")
    await expect(page.locator(".timeline")).to_contain_text("approved")


async def test_mark_shipped_with_a_tracking_number(site: httpx.AsyncClient, page: Page) -> None:
    order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    await page.goto(f"{site.base_url}/orders/{order_id}")
    await page.get_by_label("Tracking number").fill("1Z999AA1")
    await page.get_by_role("button", name="Mark shipped").click()
    await expect(page.locator(".order-head .badge")).to_have_text("SHIPPED")
    await expect(page.get_by_text("Tracking number 1Z999AA1")).to_be_visible()
    await expect(page.get_by_role("button", name="Mark delivered")).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)


async def test_cancel_an_order(site: httpx.AsyncClient, page: Page) -> None:
    order_id = (await site.post("/api/orders", json=body(quantity=3))).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    await page.goto(f"{site.base_url}/orders/{order_id}")
    await page.get_by_role("button", name="Cancel order").click()
    # It asks first, in a dialog over the page.
    dialog = page.get_by_role("dialog", name=re.compile(r"^Cancel order "))
    await dialog.get_by_label("Reason").fill("customer called")
    await dialog.get_by_role("button", name="Yes, cancel the order").click()
    await expect(page.locator(".order-head .badge")).to_have_text("CANCELLED")
    await expect(page.get_by_text("Refunded 54.00 USD")).to_be_visible()
    await expect(page.locator(".timeline")).to_contain_text("customer called")
    await expect(page.locator(".actions")).to_have_count(0)


async def test_an_action_the_order_has_moved_past_is_refused_inline(
    site: httpx.AsyncClient, page: Page
) -> None:
    order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    await page.goto(f"{site.base_url}/orders/{order_id}")
    # Someone starts typing a tracking number (so the page holds still for them)...
    await page.get_by_label("Tracking number").fill("MINE-1")
    # ...while the warehouse marks it shipped through the API.
    shipped = await site.post(
        f"/api/orders/{order_id}/advance", json={"tracking_number": "THEIRS-1"}
    )
    assert shipped.json()["status"] == "SHIPPED"

    await page.get_by_role("button", name="Mark shipped").click()
    error = page.get_by_role("alert")
    await expect(error).to_have_text(
        "the order has moved on: it is shipped now (you saw: confirmed, to be shipped); "
        "look at it again"
    )
    state = (await site.get(f"/api/orders/{order_id}")).json()
    assert state["tracking_number"] == "THEIRS-1"


async def test_pages_fit_a_phone(site: httpx.AsyncClient, page: Page) -> None:
    order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", f"/orders/{order_id}", "/outbox"):
        await page.goto(f"{site.base_url}{path}")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
    await page.goto(f"{site.base_url}/")
    await expect(
        page.locator(f'tr[data-order="{order_id}"]').get_by_role("button", name="Mark shipped")
    ).to_be_visible()
