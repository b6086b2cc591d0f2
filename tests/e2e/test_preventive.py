"""The Preventive maintenance page in Chromium: reached from the maintenance dashboard, it
lists a job with its schedule's next run and due date, and its buttons pause, resume and run
the job; it fits 1440 and 390 px wide without scrolling sideways."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date

import httpx
from playwright.async_api import Page, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.preventive import PreventiveSpec
from opsdesk.maintenance.preventive_schedules import reconcile_schedules, schedule_id
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.test_layout import MEASURE, PHONE

pytestmark = BROWSER

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def test_a_job_is_listed_paused_resumed_and_run_from_its_page(
    dev_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    site: httpx.AsyncClient,
    page: Page,
) -> None:
    job = PreventiveSpec(
        id=f"alarms-{uuid.uuid4().hex[:8]}",
        unit="2B",
        title="Test the smoke and carbon monoxide alarms",
        instructions="Test every alarm and replace dead batteries.",
        trade="electrician",
        every_months=6,
        first_due=date(2031, 4, 15),
    )
    spec = sample_directory()
    for prop in spec.properties:
        prop.preventive = [job] if prop.id == "harbor-12" else []
    await Directory(db).import_directory(spec)
    await reconcile_schedules(dev_env.client, settings, db)
    try:
        await page.goto(f"{site.base_url}/maintenance")
        await page.get_by_role("link", name="Preventive maintenance").click()
        await expect(page.get_by_role("heading", name="Preventive maintenance")).to_be_visible()
        row = page.locator(f'[data-job="{job.id}"]')
        await expect(row).to_contain_text("12 Harbor Lane")
        await expect(row).to_contain_text("every 6 months")
        await expect(row.locator("[data-due]")).to_have_text("Tue 15 Apr 2031")
        await expect(row.locator("[data-next-run]")).to_contain_text("Mar 2031")
        await expect(row.locator("[data-state]")).to_have_text("Running")

        await row.get_by_role("button", name="Pause").click()
        await expect(page.locator("[data-notice]")).to_contain_text("is paused")
        await expect(row.locator("[data-state]")).to_contain_text("Paused")

        for width in (1440, PHONE):
            await page.set_viewport_size({"width": width, "height": 900})
            await expect(row.get_by_role("button", name="Resume")).to_be_visible()
            assert await page.evaluate(MEASURE) == []
            assert await page.evaluate(SIDEWAYS) == 0

        await row.get_by_role("button", name="Resume").click()
        await expect(page.locator("[data-notice]")).to_contain_text("is running again")
        await expect(row.locator("[data-state]")).to_have_text("Running")

        await row.get_by_role("button", name="Run now").click()
        await expect(page.locator("[data-notice]")).to_contain_text(
            "The request for Test the smoke and carbon monoxide alarms due Tue 15 Apr 2031 "
            "is being opened now"
        )
        assert await page.evaluate(SIDEWAYS) == 0
    finally:
        with contextlib.suppress(RPCError):
            await dev_env.client.get_schedule_handle(schedule_id(job.id)).delete()
