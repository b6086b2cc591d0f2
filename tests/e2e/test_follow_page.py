"""Who may report, in Chromium at a desktop's width and a phone's: the tenant on file's
page that confirms someone else's report; and the reporter's follow page, reached from the
acknowledgement email (never from the receipt page), which says where the request is, what
happens next, the visit in the property's time and the recent steps, shows nothing
staff-only, and fits the window; a changed link gets a readable page."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import sample_directory
from opsdesk.maintenance.ids import request_id_of
from opsdesk.maintenance.inputs import TenantContact
from opsdesk.maintenance.notices import FOLLOW
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.test_link_pages import FITS, SERVER_WAIT, ZONE_NAMED, facts_repeat, tab
from tests.maintenance.helpers import drive_to, link_for_stage, start, waiting_for

pytestmark = BROWSER

TENANT = "sam.rivera@example.com"
PROBLEM = "The kitchen tap leaks under the sink and the cabinet is getting wet"
STAFF_ONLY = ("320.00", "250.00", "Harbor Lane Holdings", "owner@harborlane.example", "ops@")


def _building_label() -> str:
    harbor = next(p for p in sample_directory().properties if p.id == "harbor-12")
    return f"{harbor.name} ({harbor.address})"


async def test_the_tenant_on_file_confirms_and_the_reporter_follows_the_request(
    desk: httpx.AsyncClient,
    dev_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    browser: Browser,
) -> None:
    # Someone not on file reports for unit 1A: its tenant on file confirms by the link.
    stranger = TenantContact(name="Alex Stone", email="alex.stone@example.com")
    checked = await start(dev_env.client, settings, tenant=stranger)
    await waiting_for(checked, Stage.REPORT_CHECK)
    checked_id = request_id_of(checked.id)
    path = await link_for_stage(db, settings, checked_id, TENANT, Stage.REPORT_CHECK.value)
    for width in (1440, 390):
        async with tab(browser, width) as page:
            await page.goto(f"{desk.base_url}{path}")
            await expect(page.locator("h1")).to_contain_text("did you, or someone you know")
            await expect(page.locator(".facts")).to_contain_text("Alex Stone")
            await expect(page.locator("[data-deadline] .when")).to_have_text(ZONE_NAMED)
            assert "alex.stone@example.com" not in await page.content()
            assert await facts_repeat(page) == []
            assert await page.evaluate(FITS), width
            if width == 390:
                await page.get_by_role("button", name="Yes, I know about this report").click()
                await expect(page.locator("[data-outcome]")).to_contain_text(
                    "you confirmed the report with this link."
                )
                assert await page.evaluate(FITS)
    await waiting_for(checked, Stage.OWNER_APPROVAL)

    # A unit with nobody on file: ops' own task, in their words, on a desktop and a phone.
    unchecked = await start(dev_env.client, settings, unit="3C", tenant=stranger)
    await waiting_for(unchecked, Stage.REPORT_CHECK)
    for width in (1440, 390):
        async with tab(browser, width) as ops:
            await sign_in(ops, str(desk.base_url))
            await ops.goto(f"{desk.base_url}/maintenance/{request_id_of(unchecked.id)}")
            await expect(ops.locator("[data-next-step]")).to_contain_text(
                "Waiting for the office to accept or refuse the report: nobody is on file "
                "for unit 3C."
            )
            await expect(ops.locator("[data-status]")).to_have_text("report to check")
            await expect(ops.locator("[data-reporter]")).to_contain_text("(not on file)")
            await expect(ops.locator("[data-tenant-on-file]")).to_contain_text("nobody on file")
            await expect(ops.locator("[data-waiting=report_check] h3")).to_contain_text(
                "Accept or refuse the report"
            )
            assert await ops.evaluate(FITS), width

    async with tab(browser, 390) as phone:
        await phone.goto(f"{desk.base_url}/report")
        await phone.get_by_label("Building").select_option(label=_building_label())
        await phone.get_by_label("Unit").fill("1A")
        await phone.get_by_label("Your name").fill("Sam Rivera")
        await phone.get_by_label("Email").fill(TENANT)
        await phone.get_by_label("What is wrong?").fill(PROBLEM)
        await phone.get_by_role("button", name="Send the report").click()
        received = phone.locator("[data-received]")
        await expect(received).to_be_visible(timeout=SERVER_WAIT)
        request_id = await received.get_attribute("data-received")
        assert request_id
        # The receipt page hands out no follow link; the acknowledgement email has it.
        await expect(received).to_contain_text("We emailed you a copy, with a link to follow")
        await expect(phone.get_by_role("link", name="Follow your request")).to_have_count(0)
        emailed = await link_for_stage(db, settings, request_id, TENANT, FOLLOW)
        await phone.goto(f"{desk.base_url}{emailed}")
        await expect(phone.locator("[data-follow]")).to_have_attribute("data-follow", request_id)
        follow_url = phone.url
        # Reported by the tenant on file: on to the owner once triaged.
        handle = request_handle(dev_env.client, request_id)
        await drive_to(handle, Stage.OWNER_APPROVAL)
        await phone.reload()
        await expect(phone.locator("[data-where]")).to_contain_text(
            "the owner's approval of the repair"
        )
        await expect(phone.locator("[data-next]")).to_contain_text("waiting for the owner")
        await expect(phone.locator("[data-steps] li").first).to_contain_text(
            "We asked the owner to approve the repair."
        )
        assert await phone.evaluate(FITS)

    # Later: the visit is booked; the page shows it in the building's time, zone named.
    await drive_to(handle, Stage.WORK_DONE, quote=32000)
    for width in (1440, 390):
        async with tab(browser, width) as page:
            await page.goto(follow_url)
            visit = page.locator("[data-visit] .visit")
            await expect(visit).to_have_text(ZONE_NAMED)
            await expect(page.locator("[data-steps]")).to_contain_text("booked the visit for")
            await expect(page.locator("[data-steps]")).to_contain_text("approved the estimate.")
            text = await page.locator("main").inner_text()
            for private in STAFF_ONLY:
                assert private not in text, private
            assert re.search(r"\bUTC\b", text) is None
            assert await page.evaluate(FITS), width

    # A link changed on the way: a page that says so, not a request.
    async with tab(browser, 390) as phone:
        await phone.goto(f"{follow_url[:-4]}abcd")
        await expect(phone.locator("h1")).to_have_text("This link is not valid")
        await expect(phone.locator("[data-follow]")).to_have_count(0)
        assert await phone.evaluate(FITS)
