"""The vendors' pages in Chromium at 1440 and 390 px: compliance at a glance on the list, a
certificate uploaded through the vendor's page (its file opened through its short-lived
link), and a wrong file refused in words; the vendor's scorecard on their page, linked with
every vendor's scorecards; no page is wider than the window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk import clock
from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.settings import Settings
from tests.conftest import BROWSER, free_port
from tests.e2e.people import sign_in
from tests.http import served
from tests.maintenance.jobs import recorded_job
from tests.staff import person

pytestmark = BROWSER

DESK, PHONE = 1440, 390
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"


@pytest.fixture
async def vendors_site(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[str]:
    """The app (the pages need no worker; signing in lands on a dashboard), the sample
    directory, one plumber whose insurance expired and an electrician whose licence
    expires in six days."""
    await Directory(db).import_directory(sample_directory())
    today = datetime.now(UTC).date()
    documents = VendorDocuments(db)
    await documents.add(
        "ven-pipe", "general_liability", today - timedelta(days=3), uploaded_by="ops"
    )
    await documents.add("ven-volt", "licence", today + timedelta(days=6), uploaded_by="ops")
    # One closed job of the plumber's, done 4 days after the report, for their scorecard.
    await VendorJobs(db).record(
        recorded_job(
            "MR-pipe-1", "ven-pipe", answered_after=None, completed_after=timedelta(days=4)
        )
    )
    await person(db)
    port = free_port()
    # The files' signed links lead to the app where it is served.
    here = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    async with served(create_app(here, dev_env.client), port) as url:
        yield url


async def _tab(browser: Browser, url: str, width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await sign_in(page, url)
    return page


async def _fits(page: Page, where: str) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{where}: {overflow} px wider than the window"


async def test_vendors_compliance_at_a_glance_and_a_certificate_uploaded_from_the_page(
    vendors_site: str, browser: Browser
) -> None:
    renewed = datetime.now(UTC).date() + timedelta(days=365)
    for width in (DESK, PHONE):
        where = f"at {width} px"
        page = await _tab(browser, vendors_site, width)
        try:
            await page.goto(f"{vendors_site}/maintenance")
            await page.get_by_role("link", name="Vendors", exact=True).click()
            await expect(page.get_by_role("heading", name="Vendors")).to_be_visible()
            glance = page.locator("[data-vendor] [data-compliance]")
            row = page.locator('tr[data-vendor="ven-flow"] [data-compliance]')
            await expect(row).to_have_text("All documents valid")
            pipe = page.locator('tr[data-vendor="ven-pipe"] [data-compliance]')
            volt = page.locator('tr[data-vendor="ven-volt"] [data-compliance]')
            if width == DESK:
                await expect(pipe).to_have_text("General liability insurance expired")
            else:
                # Renewed at the desk width: valid again.
                await expect(pipe).to_have_text("All documents valid")
            await expect(volt).to_have_text("Licence expires in 6 days")
            await expect(glance).to_have_count(5)
            await _fits(page, f"the list {where}")

            await page.get_by_role("link", name="Bay Pipe & Drain").click()
            await expect(page.get_by_role("heading", name="Bay Pipe & Drain")).to_be_visible()
            card = page.locator('[data-scorecard="ven-pipe"]')
            await expect(card.locator("[data-jobs]")).to_have_text("1 (1 closed)")
            await expect(card.locator("[data-completion]")).to_contain_text("4.0 days")
            await expect(card.locator("[data-first-time-fix]")).to_contain_text("100%")
            await _fits(page, f"the vendor's scorecard {where}")
            form = page.locator("form[data-upload]")
            await form.get_by_label("Document").select_option("general_liability")
            await form.get_by_label("Expires on").fill(renewed.isoformat())
            await form.get_by_label("Number").fill(f"GL-{width}")
            file = (
                {"name": "liability.pdf", "mimeType": "application/pdf", "buffer": PDF}
                if width == DESK
                else {"name": "liability.pdf", "mimeType": "application/pdf", "buffer": GIF}
            )
            await form.get_by_label("File").set_input_files(file)  # type: ignore[arg-type]
            await form.get_by_role("button", name="Upload").click()
            notice = page.locator("[data-notice]")
            if width == DESK:
                await expect(notice).to_have_text(
                    "Filed Bay Pipe & Drain's general liability insurance, valid until "
                    f"{clock.calendar_day(renewed)}."
                )
                current = page.locator('tr[data-document="general_liability"]')
                await expect(current).to_contain_text("GL-1440")
                link = current.locator("a[data-file]")
                await expect(link).to_have_text("liability.pdf")
                opened = await page.request.get(str(await link.get_attribute("href")))
                assert opened.status == 200
                assert await opened.body() == PDF
                await expect(page.locator("details.earlier summary")).to_have_text(
                    "Earlier documents (2)"
                )
            else:
                await expect(notice).to_have_text(
                    "File: the document must be a PDF, JPEG or PNG (it looks like a GIF "
                    "file); scan or save it as one of those and upload it again."
                )
                # What was typed is still there to send again with the right file.
                await expect(form.get_by_label("Number")).to_have_value(f"GL-{width}")
                await expect(form.get_by_label("Expires on")).to_have_value(renewed.isoformat())
            await _fits(page, f"the vendor's page {where}")

            # Every vendor's scorecard, and back to one vendor's page from it.
            await page.get_by_role("link", name="Every vendor's scorecard").click()
            await expect(page.get_by_role("heading", name="Vendor scorecards")).to_be_visible()
            await expect(page.locator('tr[data-vendor="ven-pipe"] [data-jobs]')).to_have_text("1")
            await _fits(page, f"the scorecards {where}")
            await page.get_by_role("link", name="Volt Electric").click()
            await expect(page.get_by_role("heading", name="Volt Electric")).to_be_visible()
            await expect(page.locator('[data-scorecard="ven-volt"] [data-no-jobs]')).to_be_visible()
        finally:
            await page.context.close()
