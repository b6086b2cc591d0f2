"""After the job and requests that age, in Chromium at a desktop's width and a phone's: the
tenant's survey from the email's link to a recorded answer (and the first answer shown
again), the vendor scorecards' table and the aging view, none wider than the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, Page, expect

from opsdesk.db import Database
from opsdesk.maintenance.notices import RATINGS, SURVEY
from opsdesk.maintenance.surveys import Surveys
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.test_layout import MEASURE
from tests.e2e.test_link_pages import WIDTHS, tab
from tests.maintenance.jobs import flowright_jobs, recorded_job

pytestmark = BROWSER


async def fits(page: Page, where: str) -> None:
    problems: list[str] = await page.evaluate(MEASURE)
    assert problems == [], where


def survey_link(settings: Settings, request_id: str) -> str:
    signer = LinkSigner(link_key(settings), settings.resolved_public_url)
    grant = LinkGrant(
        link_id=f"survey-{request_id}",
        request_id=request_id,
        stage=SURVEY,
        round=1,
        role="tenant",
        answers=RATINGS,
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    return f"/links/{signer.token(grant)}"


async def test_the_tenant_rates_the_repair_once_on_a_desk_and_a_phone(
    desk: httpx.AsyncClient, db: Database, settings: Settings, browser: Browser
) -> None:
    for width in WIDTHS:
        request_id = f"R-{width}"
        await VendorJobs(db).record(
            recorded_job(
                request_id,
                "ven-flow",
                answered_after=timedelta(hours=1),
                completed_after=timedelta(days=2),
            )
        )
        async with tab(browser, width) as page:
            await page.goto(f"{desk.base_url}{survey_link(settings, request_id)}")
            await expect(page.get_by_role("heading", name="How did the repair go?")).to_be_visible()
            await expect(page.locator("dl.facts")).to_contain_text(request_id)
            await fits(page, f"the survey at {width} px")
            await page.get_by_text("4: Good").click()
            await page.get_by_label("Anything you would like to tell us (optional)").fill(
                "The plumber was on time and tidy, but the tap still drips a little at night."
            )
            await page.get_by_role("button", name="Send my answer").click()
            await expect(page.locator('[data-outcome="recorded"] h1')).to_have_text(
                "Thank you: your answer is recorded"
            )
            await expect(page.locator("[data-next]")).to_contain_text("Nothing more is needed")
            await fits(page, f"the thank-you page at {width} px")
            # Back to the link: the first answer is shown, and it is the one that stands.
            await page.goto(f"{desk.base_url}{survey_link(settings, request_id)}")
            await expect(page.locator('[data-outcome="answered"] h1')).to_have_text(
                "You have already answered"
            )
            await expect(page.locator("dl.facts")).to_contain_text("4 of 5: Good")
            await fits(page, f"the answered page at {width} px")
        answered = await Surveys(db).of_request(request_id)
        assert answered is not None
        assert answered.rating == 4


async def test_the_scorecards_and_the_aging_view_on_a_desk_and_a_phone(
    desk: httpx.AsyncClient, db: Database, page: Page
) -> None:
    jobs = VendorJobs(db)
    for facts in flowright_jobs():
        await jobs.record(facts)
    await Surveys(db).record("R-1", "l1", 5, "")
    await Surveys(db).record("R-2", "l2", 2, "")

    await page.goto(f"{desk.base_url}/maintenance")
    await page.get_by_role("link", name="Vendor scorecards").click()
    await expect(page.get_by_role("heading", name="Vendor scorecards")).to_be_visible()
    flow = page.locator('tr[data-vendor="ven-flow"]')
    await expect(flow.locator("[data-jobs]")).to_have_text("3")
    await expect(flow.locator("[data-first-answer]")).to_have_text("4 hours")
    await expect(flow.locator("[data-completion]")).to_have_text("5.0 days")
    await expect(flow.locator("[data-first-time-fix]")).to_have_text("50%")
    await expect(flow.locator("[data-satisfaction]")).to_contain_text("3.5 of 5")
    await expect(flow.locator("[data-invoice-vs-estimate]")).to_have_text("10% over")
    await expect(page.locator('tr[data-vendor="ven-pipe"] [data-jobs]')).to_have_text("0")
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        for path in ("/maintenance/scorecards", "/maintenance/aging"):
            await page.goto(f"{desk.base_url}{path}")
            await fits(page, f"{path} at {width} px")
    await expect(page.locator("[data-age-group]")).to_have_count(3)
    await expect(page.locator('[data-age-group="14"]')).to_contain_text("Open 14 days or more")
