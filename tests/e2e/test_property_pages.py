"""The properties on the dashboard, in Chromium at a desktop's width and a phone's: the list
(name, address, owner, units, approval limit) and a property's page (its units and tenants,
the owner and how they are reached, the owner's policy in plain sentences, its recurring
jobs), read by a viewer; nothing sticks out of its box, and an unknown property is a
readable page."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser, expect
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.maintenance.directory import sample_directory
from opsdesk.maintenance.preventive import Recurrence, due_words
from opsdesk.maintenance.preventive_schedules import reconcile_schedules, schedule_id
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.test_layout import MEASURE
from tests.e2e.test_link_pages import WIDTHS
from tests.staff import person

pytestmark = BROWSER


def _next_due(job_id: str) -> str:
    """The job's next due date as the page says it (the sample directory's job)."""
    spec = next(
        job for prop in sample_directory().properties for job in prop.preventive if job.id == job_id
    )
    recurrence = Recurrence(
        first_due=spec.first_due,
        every_days=spec.every_days,
        every_months=spec.every_months,
        time_zone="America/Los_Angeles",
    )
    return due_words(recurrence.next_due(datetime.now(UTC)), "America/Los_Angeles")


VIEWER = "viewer"


async def test_a_viewer_reads_the_properties_and_each_owner_policy_at_both_widths(
    desk: httpx.AsyncClient,
    browser: Browser,
    db: Database,
    dev_env: WorkflowEnvironment,
    settings: Settings,
) -> None:
    await person(db, VIEWER, Role.VIEWER)
    base = str(desk.base_url)
    # The sample's jobs on their schedules, as a worker's start makes them; one paused.
    await reconcile_schedules(dev_env.client, settings, db)
    jobs = [job.id for prop in sample_directory().properties for job in prop.preventive]
    await dev_env.client.get_schedule_handle(schedule_id("harbor-12-smoke-alarms")).pause()
    try:
        await _read_the_pages(browser, base)
    finally:
        for job_id in jobs:
            with contextlib.suppress(RPCError):
                await dev_env.client.get_schedule_handle(schedule_id(job_id)).delete()


async def _read_the_pages(browser: Browser, base: str) -> None:
    for width in WIDTHS:
        context = await browser.new_context(viewport={"width": width, "height": 900})
        # The page holds still while it is measured: no live refresh.
        await context.route("**/api/events", lambda route: route.abort())
        page = await context.new_page()
        page.set_default_timeout(20_000)
        try:
            await sign_in(page, base, VIEWER)
            await page.goto(f"{base}/maintenance")
            await page.get_by_role("link", name="Properties", exact=True).click()
            await expect(page).to_have_url(f"{base}/maintenance/properties")
            harbor = page.locator('[data-property="harbor-12"]')
            await expect(harbor).to_contain_text("12 Harbor Lane, San Francisco, CA 94107")
            await expect(harbor).to_contain_text("Harbor Lane Holdings")
            await expect(harbor.locator(".units")).to_have_text("3")
            await expect(harbor.locator(".limit")).to_have_text("250.00 USD")
            await expect(harbor.locator(".jobs")).to_have_text("2")
            elm = page.locator('[data-property="elm-48"]')
            await expect(elm.locator(".limit")).to_have_text("0.00 USD")
            assert await page.evaluate(MEASURE) == [], width

            await elm.get_by_role("link", name="48 Elm Street").click()
            await expect(page.locator("h1")).to_have_text("48 Elm Street")
            owner = page.locator('[data-section="owner"]')
            await expect(owner).to_contain_text("Maya Chen")
            await expect(owner).to_contain_text("maya.chen@example.com")
            await expect(page.locator('[data-unit="Main"]')).to_contain_text("Jordan Blake")
            await expect(page.locator('[data-section="preventive"] [data-job]')).to_have_text(
                re.compile(r"^Service the boiler\s+· Unit Main · every year")
            )
            policy = page.locator("[data-policy] li")
            await expect(policy).to_have_text(
                [
                    "Every quote needs the owner's approval.",
                    "An emergency quote above the limit is put to the owner by phone and email "
                    "at once, at any hour. If nobody answers within 3 hours, only work that "
                    "stops further damage goes ahead, up to 500.00 USD; the full repair waits "
                    "for the owner.",
                    "Routine quotes are approved if the owner has not answered in 2 days.",
                    # The zone's abbreviation is the one in force today (PST or PDT).
                    re.compile(
                        r"^No calls between 9:00 PM and 8:00 AM Los Angeles time \(P[SD]T\) or "
                        r"at weekends: the question is emailed and the call waits until the "
                        r"quiet hours end\. Emergencies call at any hour\.$"
                    ),
                    "The owner is asked by email only; only an emergency above the limit phones.",
                ]
            )
            assert await page.evaluate(MEASURE) == [], width

            await page.goto(f"{base}/maintenance/properties/harbor-12")
            await expect(page.locator("[data-policy]")).to_contain_text(
                "Quotes up to 250.00 USD go ahead without asking the owner."
            )
            await expect(page.locator("[data-policy]")).to_contain_text(
                "The owner may be phoned at any hour."
            )
            await expect(page.locator('[data-unit="3C"]')).to_contain_text("no tenant on file")
            jobs = page.locator('[data-section="preventive"] [data-job]')
            await expect(jobs).to_have_count(2)
            filters = page.locator('[data-job="harbor-12-hvac-filters"]')
            await expect(filters).to_contain_text("Replace the HVAC filters")
            await expect(filters).to_contain_text("Unit 1A · every 90 days")
            await expect(filters.locator("[data-due]")).to_contain_text(
                f"Next due {_next_due('harbor-12-hvac-filters')}"
            )
            await expect(filters.locator("[data-due]")).to_contain_text("its request opens")
            await expect(filters.locator("[data-state]")).to_have_text("Running.")
            alarms = page.locator('[data-job="harbor-12-smoke-alarms"]')
            await expect(alarms).to_contain_text("Unit 2B · every 6 months")
            await expect(alarms.locator("[data-state]")).to_have_text(
                "Paused: it opens no request until resumed."
            )
            assert await page.evaluate(MEASURE) == [], width
            await page.get_by_role("link", name="Preventive maintenance for every property").click()
            await expect(page.locator("h1")).to_have_text("Preventive maintenance")

            missing = await page.goto(f"{base}/maintenance/properties/nowhere-1")
            assert missing is not None
            assert missing.status == 404
            await expect(page.locator("main")).to_contain_text("no property with that id")
            assert "Traceback" not in await page.content()
        finally:
            await context.close()
