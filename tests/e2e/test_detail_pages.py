"""One order's and one request's page in Chromium at 1440 and 390 px: the request page
puts its facts first and is short, its "Who was asked" answers line up, a success notice
goes once the request has moved on, cancels ask first (a dialog with the script, a page
without), and comments are added from the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.maintenance.helpers import LEAK, start, waiting_for
from tests.orders.helpers import body, until_status

pytestmark = BROWSER

DESK, PHONE = 1440, 390
OLD_HEIGHT = 2664  # the request page's height at 1440 px before it put its facts first


@pytest.fixture
async def directory(db: Database) -> Directory:
    found = Directory(db)
    await found.import_directory(sample_directory())
    return found


async def _tab(
    browser: Browser, site: httpx.AsyncClient, width: int, script: bool = True
) -> AsyncIterator[Page]:
    context: BrowserContext = await browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=script
    )
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await sign_in(page, str(site.base_url))
    try:
        yield page
    finally:
        await context.close()


async def _request_with_history(dev_env: WorkflowEnvironment, settings: Settings) -> str:
    """A request whose owner approved on the dashboard and whose vendor is now asked."""
    handle = await start(dev_env.client, settings, LEAK)
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    return request_id_of(handle.id)


async def test_the_request_page_is_facts_first_short_and_aligned(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    settings: Settings,
    directory: Directory,
    browser: Browser,
) -> None:
    request_id = await _request_with_history(dev_env, settings)
    approved = await site.post(
        f"/api/maintenance/requests/{request_id}/answers/owner_approval",
        json={"approve": True, "note": "Owner phoned"},
    )
    assert approved.status_code in (200, 202), approved.text
    url = f"{site.base_url}/maintenance/{request_id}"
    for width in (DESK, PHONE):
        async for page in _tab(browser, site, width):
            await page.goto(url)
            await expect(page.locator('tr[data-question="vendor_quote"]')).to_be_visible()
            where = f"at {width} px"
            # Facts before who was asked, the timeline, and the actions last.
            tops = await page.evaluate(
                """() => ["[data-facts]", ".questions", ".mr-timeline", "[data-request-actions]"]
                   .map((s) => document.querySelector(s).getBoundingClientRect().top)"""
            )
            assert tops == sorted(tops), f"{where}: {tops}"
            await expect(page.locator("[data-next-step]")).to_contain_text(
                "Waiting for FlowRight Plumbing (vendor) to take the job and quote for it, by"
            )
            # One clock: no zone named in the page's body, none but the footer's.
            main = await page.locator("main").inner_text()
            for zone in ("UTC", "PST", "PDT"):
                assert zone not in main, where
            assert " via " not in await page.locator(".mr-timeline").inner_text(), where
            await expect(page.locator(".mr-timeline")).to_contain_text(
                "ops (owner) approved through the API"
            )
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{where}: {overflow} px wider than the window"
            # Every Answer cell starts at the same x, whatever the rows hold.
            xs = await page.locator("table.questions td.answer").evaluate_all(
                "cells => cells.map((c) => Math.round(c.getBoundingClientRect().left))"
            )
            assert len(xs) == 2, where
            assert len(set(xs)) == 1, f"{where}: Answer cells at {xs}"
            if width == DESK:
                # Each Answer cell is a cell of its row: it starts where its row's Question
                # does, and its bottom edge is the row's.
                edges = await page.locator("table.questions tbody tr").evaluate_all(
                    """rows => rows.map((row) => {
                      const box = (c) => row.querySelector(c).getBoundingClientRect();
                      const [what, answer] = [box(".what"), box(".answer")];
                      return [answer.top - what.top, answer.bottom - what.bottom].map(Math.round);
                    })"""
                )
                assert edges == [[0, 0], [0, 0]], f"{where}: Answer cells off their rows {edges}"
            if width == DESK:
                height = await page.evaluate("document.documentElement.scrollHeight")
                assert height < OLD_HEIGHT * 0.6, f"{where}: the page is {height} px tall"


async def test_a_success_notice_goes_once_the_request_moves_on(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    settings: Settings,
    directory: Directory,
    page: Page,
) -> None:
    request_id = await _request_with_history(dev_env, settings)
    await page.goto(f"{site.base_url}/maintenance/{request_id}")
    await (
        page.locator('form.answer[data-waiting="owner_approval"]')
        .get_by_role("button", name="Approve")
        .click()
    )
    notice = page.locator("[data-notice]")
    await expect(notice).to_contain_text("Answered for the owner: approved.")
    # The vendor quotes through the API; the next poll shows it, and the notice goes.
    quoted = await site.post(
        f"/api/maintenance/requests/{request_id}/answers/vendor_quote",
        json={"amount_cents": 18000},
    )
    assert quoted.status_code in (200, 202), quoted.text
    quote = page.locator("[data-quote]")
    for _ in range(40):
        # What the page does every 10 seconds, now: read the request's section again.
        await page.evaluate("poll()")
        if await quote.text_content() == "180.00 USD":
            break
        await page.wait_for_timeout(250)
    await expect(quote).to_have_text("180.00 USD")
    await expect(notice).to_have_count(0)


async def test_cancelling_a_request_asks_first_with_and_without_the_script(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    settings: Settings,
    directory: Directory,
    browser: Browser,
) -> None:
    kept = await _request_with_history(dev_env, settings)
    for script in (True, False):
        request_id = await _request_with_history(dev_env, settings)
        async for page in _tab(browser, site, PHONE if script else DESK, script=script):
            await page.goto(f"{site.base_url}/maintenance/{request_id}")
            await page.get_by_role("button", name="Cancel request").click()
            confirm = page.locator("dialog[open] .confirm" if script else ".confirm")
            await expect(confirm.locator("[data-effects]")).to_contain_text(
                "with your reason: Sam Rivera (tenant) and Harbor Lane Holdings (owner)."
            )
            await expect(confirm.locator("[data-effects]")).to_contain_text(
                "The open question (approve the repair) is withdrawn"
            )
            if script:
                # "Keep the request" closes the dialog and changes nothing.
                await confirm.get_by_role("link", name="Keep the request").click()
                await expect(page.locator("dialog")).to_have_count(0)
                await page.get_by_role("button", name="Cancel request").click()
            else:
                await expect(page).to_have_url(re.compile(rf"/maintenance/{request_id}/cancel\??$"))
            state = await site.get(f"/api/maintenance/requests/{request_id}")
            assert state.json()["status"] == "OWNER_APPROVAL"
            await confirm.get_by_label("Reason").fill("The tenant fixed it")
            await confirm.get_by_role("button", name="Yes, cancel the request").click()
            await expect(page).to_have_url(f"{site.base_url}/maintenance/{request_id}")
            await expect(page.locator("[data-notice]")).to_have_text(
                f"Request {request_id} is cancelled now."
            )
            await expect(page.locator("[data-status]")).to_have_text("cancelled")
    assert (await site.get(f"/api/maintenance/requests/{kept}")).json()["status"] == (
        "OWNER_APPROVAL"
    )


async def test_cancelling_an_order_asks_first_with_and_without_the_script(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    for script in (True, False):
        created = await site.post("/api/orders", json=body(quantity=3, customer=f"c-{script}"))
        order_id = created.json()["order_id"]
        await until_status(site, order_id, "CONFIRMED")
        async for page in _tab(browser, site, DESK if script else PHONE, script=script):
            await page.goto(f"{site.base_url}/orders/{order_id}")
            await page.get_by_role("button", name="Cancel order").click()
            confirm = page.locator("dialog[open] .confirm" if script else ".confirm")
            effects = confirm.locator("[data-effects]")
            await expect(effects).to_contain_text("The payment of 54.00 USD is refunded in full")
            await expect(effects).to_contain_text("go back into stock")
            await expect(effects).to_contain_text("Ada Lovelace (ada@example.com) is emailed")
            assert (await site.get(f"/api/orders/{order_id}")).json()["status"] == "CONFIRMED"
            await confirm.get_by_label("Reason").fill("customer called")
            await confirm.get_by_role("button", name="Yes, cancel the order").click()
            await expect(page).to_have_url(f"{site.base_url}/orders/{order_id}")
            await expect(page.locator(".order-head .badge")).to_have_text("CANCELLED")
            await expect(page.get_by_text("Refunded 54.00 USD")).to_be_visible()
            await expect(page.locator(".timeline")).to_contain_text("customer called")


async def test_a_comment_from_the_order_page(site: httpx.AsyncClient, browser: Browser) -> None:
    order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
    await until_status(site, order_id, "CONFIRMED")
    for script in (True, False):
        async for page in _tab(browser, site, PHONE if script else DESK, script=script):
            await page.goto(f"{site.base_url}/orders/{order_id}")
            words = f"Gift wrap requested ({'script' if script else 'plain'})"
            await page.get_by_label("Add a comment").fill(words)
            await page.get_by_role("button", name="Add comment").click()
            entry = page.locator(".timeline li.comment").filter(has_text=words)
            await expect(entry).to_contain_text("ops commented")
            await expect(entry).to_have_count(1)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
    items = (await site.get(f"/api/orders/{order_id}/comments")).json()["items"]
    assert [c["author"] for c in items] == ["ops", "ops"]


async def test_a_comment_from_the_request_page(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    settings: Settings,
    directory: Directory,
    browser: Browser,
) -> None:
    request_id = await _request_with_history(dev_env, settings)
    for script in (True, False):
        async for page in _tab(browser, site, DESK if script else PHONE, script=script):
            await page.goto(f"{site.base_url}/maintenance/{request_id}")
            words = f"Tenant prefers mornings ({'script' if script else 'plain'})"
            await page.get_by_label("Add a comment").fill(words)
            await page.get_by_role("button", name="Add comment").click()
            entry = page.locator(".mr-timeline li.comment").filter(has_text=words)
            await expect(entry).to_contain_text("ops commented")
            await expect(page.get_by_label("Add a comment")).to_have_value("")
    items = (await site.get(f"/api/maintenance/requests/{request_id}/comments")).json()["items"]
    assert [c["body"] for c in items] == [
        "Tenant prefers mornings (script)",
        "Tenant prefers mornings (plain)",
    ]
