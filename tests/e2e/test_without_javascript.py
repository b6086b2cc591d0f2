"""The dashboard with JavaScript off: every form posts to the server, which acts and sends the
browser back to a page saying what happened, or why not."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from opsdesk.orders.ids import order_label
from tests.conftest import BROWSER
from tests.e2e.people import app_under_test, sign_in
from tests.orders.helpers import body, until_status

pytestmark = BROWSER


@pytest.fixture
async def plain(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A tab with JavaScript off, signed in (list ``site`` first)."""
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    page.set_default_timeout(20_000)
    base_url = app_under_test(request)
    assert base_url is not None, "list the site fixture before plain"
    await sign_in(page, base_url)
    yield page
    await context.close()


async def _confirmed(site: httpx.AsyncClient, customer: str) -> str:
    order_id: str = (await site.post("/api/orders", json=body(customer=customer))).json()[
        "order_id"
    ]
    await until_status(site, order_id, "CONFIRMED")
    return order_id


async def test_create_an_order(site: httpx.AsyncClient, plain: Page) -> None:
    await plain.goto(f"{site.base_url}/")
    form = plain.locator("form.new-order")
    # Adding lines needs the script, so the button is not offered without it.
    await expect(form.get_by_role("button", name="Add a line")).to_be_hidden()
    await form.get_by_label("Product").select_option("TEE-M")
    await form.get_by_label("Quantity").fill("2")
    await form.get_by_label("Customer name").fill("Grace Hopper")
    await form.get_by_label("Customer email").fill("grace@example.com")
    await form.get_by_label("Street address").fill("1 Navy Way")
    await form.get_by_label("City").fill("Arlington")
    await form.get_by_label("Country (2 letters)").fill("us")
    await form.get_by_role("button", name="Create order").click()

    # The new order's own page, with a note of what was done.
    await expect(plain).to_have_url(re.compile(rf"^{re.escape(str(site.base_url))}/orders/\w+$"))
    order_id = plain.url.rsplit("/", 1)[1]
    # The status the order had the moment it started (the page shows where it is since).
    await expect(plain.locator("[data-notice]")).to_have_text(
        re.compile(rf"^Order #{order_id} is [a-z ,]+\.$")
    )
    await expect(plain.locator(".order-head")).to_contain_text(order_id)
    await expect(plain.locator(".facts")).to_contain_text("Grace Hopper")
    state = await until_status(site, order_id, "CONFIRMED")
    assert state["total_cents"] == 6400
    assert state["customer"]["email"] == "grace@example.com"
    assert state["shipping_address"]["country"] == "US"

    # A second visit shows the order, not the note again.
    await plain.reload()
    await expect(plain.locator("[data-notice]")).to_have_count(0)


async def test_an_invalid_order_comes_back_filled_in_with_the_reason(
    site: httpx.AsyncClient, plain: Page
) -> None:
    await plain.goto(f"{site.base_url}/")
    form = plain.locator("form.new-order")
    await form.get_by_label("Customer name").fill("Grace Hopper")
    # The browser takes this for an address; the desk wants a domain with a dot.
    await form.get_by_label("Customer email").fill("grace@localhost")
    await form.get_by_label("Street address").fill("1 Navy Way")
    await form.get_by_label("City").fill("Arlington")
    async with plain.expect_response(lambda r: r.request.method == "POST") as sent:
        await form.get_by_role("button", name="Create order").click()
    assert (await sent.value).status == 422

    form = plain.locator("form.new-order")
    await expect(form.get_by_role("alert")).to_have_text(
        "Customer email: give a whole address, like name@example.com."
    )
    await expect(form.get_by_label("Customer name")).to_have_value("Grace Hopper")
    await expect(form.get_by_label("Customer email")).to_have_value("grace@localhost")
    await expect(form.get_by_label("City")).to_have_value("Arlington")
    assert (await site.get("/api/orders")).json()["items"] == []


async def test_cancel_an_order_on_its_page(site: httpx.AsyncClient, plain: Page) -> None:
    order_id = await _confirmed(site, "cus-nojs-cancel")
    await plain.goto(f"{site.base_url}/orders/{order_id}")
    await plain.get_by_role("button", name="Cancel order").click()
    # It asks first, on a page of its own that says what cancelling does.
    await expect(plain.locator("[data-effects]")).to_contain_text("is refunded in full")
    await plain.get_by_label("Reason").fill("customer called")
    await plain.get_by_role("button", name="Yes, cancel the order").click()

    await expect(plain).to_have_url(f"{site.base_url}/orders/{order_id}")
    await expect(plain.locator("[data-notice]")).to_have_text(
        f"Order {order_label(order_id)} is cancelled now."
    )
    await expect(plain.locator(".order-head .badge")).to_have_text("CANCELLED")
    await expect(plain.locator(".timeline")).to_contain_text("customer called")
    await expect(plain.get_by_text("Refunded 18.00 USD")).to_be_visible()


async def test_cancel_from_the_list_comes_back_to_the_list(
    site: httpx.AsyncClient, plain: Page
) -> None:
    order_id = await _confirmed(site, "cus-nojs-list")
    await plain.goto(f"{site.base_url}/?status=CONFIRMED")
    row = plain.locator(f'tr[data-order="{order_id}"]')
    await row.get_by_role("button", name="Cancel order").click()
    await plain.get_by_role("button", name="Yes, cancel the order").click()

    await expect(plain).to_have_url(f"{site.base_url}/?status=CONFIRMED")
    await expect(plain.locator("[data-notice]")).to_have_text(
        f"Order {order_label(order_id)} is cancelled now."
    )
    assert (await site.get(f"/api/orders/{order_id}")).json()["status"] == "CANCELLED"


async def test_an_action_the_order_has_moved_past_is_refused_on_the_page(
    site: httpx.AsyncClient, plain: Page
) -> None:
    order_id = await _confirmed(site, "cus-nojs-stale")
    await plain.goto(f"{site.base_url}/orders/{order_id}")
    await plain.get_by_label("Tracking number").fill("MINE-1")
    shipped = await site.post(
        f"/api/orders/{order_id}/advance", json={"tracking_number": "THEIRS-1"}
    )
    assert shipped.json()["status"] == "SHIPPED"

    await plain.get_by_role("button", name="Mark shipped").click()
    await expect(plain.get_by_role("alert")).to_have_text(
        "The order has moved on: it is shipped now (you saw: confirmed, to be shipped); "
        "look at it again."
    )
    # The page shows the order as it is now.
    await expect(plain.locator(".order-head .badge")).to_have_text("SHIPPED")
    assert (await site.get(f"/api/orders/{order_id}")).json()["tracking_number"] == "THEIRS-1"


async def test_restock(site: httpx.AsyncClient, plain: Page) -> None:
    await plain.goto(f"{site.base_url}/")
    row = plain.locator('tr[data-sku="KETTLE-01"]')
    await row.get_by_label("Quantity for KETTLE-01").fill("7")
    await row.get_by_role("button", name="Restock").click()

    await expect(plain).to_have_url(f"{site.base_url}/")
    await expect(plain.locator("[data-notice]")).to_have_text("KETTLE-01 restocked: 7 in stock.")
    await expect(plain.locator('tr[data-sku="KETTLE-01"] [data-stock]')).to_have_text("7")
