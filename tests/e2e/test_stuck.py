"""An order whose workflow cannot make progress, as ops staff see it."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.waiting import eventually

pytestmark = BROWSER


async def test_a_stuck_order_page_says_why_and_links_to_temporal(
    site: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    # Started as from the Temporal CLI, with input that does not decode.
    await dev_env.client.start_workflow(
        "OrderWorkflow",
        {"request": {"order_id": "stuck-page"}},
        id="order-stuck-page",
        task_queue=settings.orders_task_queue,
    )
    await eventually(
        lambda: site.get("/api/orders/stuck-page"),
        lambda response: response.status_code == 200 and response.json().get("stuck") is True,
    )

    response = await page.goto(f"{site.base_url}/orders/stuck-page")
    assert response is not None
    assert response.status == 200
    problem = page.locator('[data-stuck="stuck-page"]')
    await expect(problem.locator("h1")).to_have_text("Order stuck-page is stuck")
    await expect(problem.locator(".reason")).to_contain_text("validation error")
    link = problem.get_by_role("link", name="Open it in the Temporal UI")
    assert (await link.get_attribute("href") or "").endswith("/workflows/order-stuck-page")

    # On a phone the failure wraps inside its card instead of running past it.
    await page.set_viewport_size({"width": 390, "height": 800})
    assert await problem.locator(".reason").evaluate("e => e.scrollWidth <= e.clientWidth")
