"""The Maintenance section in Chromium: from the list to a request's page, an answer given on
the owner's behalf, and both pages measured on a desk and a phone."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.test_layout import MEASURE
from tests.maintenance.helpers import BURST, LEAK, start, waiting_for
from tests.waiting import eventually

pytestmark = BROWSER

PHONE = 390


@pytest.fixture
async def directory(db: Database) -> Directory:
    found = Directory(db)
    await found.import_directory(sample_directory())
    return found


async def _measured(browser: Browser, width: int, url: str) -> list[str]:
    """What sticks out of its box on the page at ``width``: nothing, on a page that fits."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    # A page that holds still: no section is swapped for a fresh one mid-measurement.
    await context.route("**/api/events", lambda route: route.abort())
    await context.route("**/fragments/**", lambda route: route.abort())
    try:
        page = await context.new_page()
        await page.goto(url)
        problems: list[str] = await page.evaluate(MEASURE)
        return problems
    finally:
        await context.close()


async def test_answer_on_the_owners_behalf_from_the_list(
    dev_env: WorkflowEnvironment,
    site: httpx.AsyncClient,
    settings: Settings,
    directory: Directory,
    page: Page,
    browser: Browser,
) -> None:
    leak = await start(dev_env.client, settings, LEAK)
    burst = await start(dev_env.client, settings, BURST)
    request_id = request_id_of(leak.id)
    await waiting_for(leak, Stage.OWNER_APPROVAL)
    await waiting_for(burst, Stage.VENDOR_QUOTE)

    async def listed() -> str:
        return (await site.get("/fragments/maintenance/requests")).text

    await eventually(listed, lambda html: html.count("data-request=") == 2, timeout=30)

    await page.goto(f"{site.base_url}/")
    await (
        page.get_by_role("navigation", name="Sections")
        .get_by_role("link", name="Maintenance")
        .click()
    )
    row = page.locator(f'tr[data-request="{request_id}"]')
    await expect(row).to_contain_text("OWNER APPROVAL")
    await expect(row.locator('td[data-label="Waiting on"]')).to_have_text("owner")
    await expect(page.locator('[data-queue="emergency"] .queue-item')).to_have_count(1)

    await row.get_by_role("link", name=request_id).click()
    await expect(page.locator("[data-next-step]")).to_contain_text(
        "Waiting for Harbor Lane Holdings (owner) to approve the repair"
    )
    answer = page.locator("form.answer")
    await answer.get_by_label("Note for the timeline").fill("Owner said yes on the phone")
    # Who answered is the signed-in person: there is no name to type.
    await expect(answer.locator(".who-field")).to_have_text("as ops")
    await answer.get_by_role("button", name="Approve").click()

    await expect(page.locator("[data-notice]")).to_have_text(
        f"Answered for the owner: approved. Request {request_id} is waiting for a quote now."
    )
    timeline = page.locator(".mr-timeline")
    await expect(timeline).to_contain_text("ops (owner) approved on the dashboard")
    await expect(timeline).to_contain_text("Owner said yes on the phone")
    await expect(page.locator('[data-waiting="vendor_quote"]')).to_contain_text(
        "FlowRight Plumbing"
    )
    state = await leak.query(MaintenanceRequestWorkflow.get_state)
    record = state.questions[0].answer
    assert record is not None
    assert (record.channel, record.actor) == ("dashboard", "ops")

    for width in (1280, PHONE):
        for path in ("/maintenance", f"/maintenance/{request_id}"):
            where = f"{path} at {width} px"
            assert await _measured(browser, width, f"{site.base_url}{path}") == [], where
