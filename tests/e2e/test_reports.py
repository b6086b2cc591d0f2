"""The Reports page in Chromium: the daily report a run of its workflow kept is listed,
opens as its email showed it, chart included, and an unknown report is a readable page."""

from __future__ import annotations

import uuid

import httpx
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.reports.models import ReportRequest
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.test_layout import MEASURE, PHONE

pytestmark = BROWSER


async def test_a_kept_report_is_listed_and_opens(
    dev_env: WorkflowEnvironment, settings: Settings, site: httpx.AsyncClient, page: Page
) -> None:
    report_id = f"daily-report-{uuid.uuid4().hex[:8]}"
    await dev_env.client.execute_workflow(
        DailyReportWorkflow.run,
        ReportRequest(recipient="ops@opsdesk.local", zone="Europe/London"),
        id=report_id,
        task_queue=settings.orders_task_queue,
    )

    await page.goto(f"{site.base_url}/")
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    row = page.locator(f'[data-report="{report_id}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("GMT")
    await row.get_by_role("link").click()

    await expect(page.get_by_role("heading", name="Ops Desk daily report")).to_be_visible()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await expect(page.locator("[data-report-detail]")).to_contain_text("Times in Europe/London")
    await page.get_by_role("link", name="← Reports").click()
    await expect(page).to_have_url(f"{site.base_url}/reports")

    # On a phone each report is a card: nothing sticks out and the page never scrolls
    # sideways (as it did while the list was a table of seven columns).
    await page.set_viewport_size({"width": PHONE, "height": 844})
    await expect(row.locator('td[data-label="Covers"]')).to_contain_text("to")
    assert await page.evaluate(MEASURE) == []
    await page.set_viewport_size({"width": 1280, "height": 900})

    await page.goto(f"{site.base_url}/reports/no-such-report")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("No report 'no-such-report'")
