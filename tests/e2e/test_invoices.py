"""The vendor's invoice form and the payouts page in Chromium, at a desktop's width and a
phone's: the form works with its script ("Add a line") and fits; a refusal keeps what was
typed; the request's page links the document; payouts filter by month and fit a phone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, FilePayload, Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.inputs import Decision
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.e2e.test_link_pages import WIDTHS, tab
from tests.maintenance.helpers import LEAK, answer, drive_to, link_for_stage, waiting_for
from tests.waiting import eventually

pytestmark = BROWSER

PLUMBER = "jobs@flowright.example"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


async def attach(page: Page) -> None:
    await page.get_by_label("The invoice itself").set_input_files(
        files=[FilePayload(name="INV-1042.pdf", mimeType="application/pdf", buffer=PDF)]
    )


async def test_a_vendor_itemises_an_invoice_and_ops_see_it_paid_by_month(
    desk: httpx.AsyncClient,
    page: Page,
    browser: Browser,
    dev_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
) -> None:
    created = await desk.post(
        "/api/maintenance/requests",
        json={
            "property_id": "harbor-12",
            "unit": "1A",
            "tenant": {"name": "Sam Rivera", "email": "sam.rivera@example.com"},
            "description": LEAK,
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["request_id"]
    handle = request_handle(dev_env.client, request_id)
    await drive_to(handle, Stage.INVOICE, quote=41250)
    url = f"{desk.base_url}{await link_for_stage(db, settings, request_id, PLUMBER, 'invoice')}"

    # Ops may answer for the vendor with the same rows, on a desktop or a phone.
    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    form = page.locator('form[data-waiting="invoice"]')
    await expect(form.locator("[data-line]")).to_have_count(4)
    await expect(form.get_by_label("The invoice itself")).to_be_visible()
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        assert await page.evaluate(FITS), width

    for width in WIDTHS:
        async with tab(browser, width) as vendor:
            await vendor.goto(url)
            rows = vendor.locator("[data-line]")
            await expect(rows).to_have_count(4)
            await vendor.get_by_role("button", name="Add a line").click()
            await expect(rows).to_have_count(5)
            await expect(vendor.locator('[name="description.4"]')).to_be_focused()
            assert await vendor.evaluate(FITS), width
            if width != WIDTHS[-1]:
                continue
            # On the phone: a line without its price is refused, and nothing typed is lost.
            await vendor.get_by_label("Invoice number").fill("INV-1042")
            await vendor.locator('[name="description.0"]').fill("Replace the valve")
            await vendor.locator('[name="quantity.0"]').fill("1.5")
            await vendor.locator('[name="price.0"]').fill("85.00")
            await vendor.locator('[name="kind.1"]').select_option("materials")
            await vendor.locator('[name="description.1"]').fill("Shut-off valve")
            await vendor.locator('[name="quantity.1"]').fill("2")
            await vendor.get_by_label("Tax").fill("35.00")
            await attach(vendor)
            await vendor.get_by_role("button", name="Send the invoice").click()
            await expect(vendor.locator("[data-error]")).to_have_text(
                "Line 2: give its price (the price of one), like 85.00."
            )
            await expect(vendor.locator('[name="description.1"]')).to_have_value("Shut-off valve")
            await expect(vendor.locator('[name="kind.1"]')).to_have_value("materials")
            await expect(vendor.get_by_label("Tax")).to_have_value("35.00")
            assert await vendor.evaluate(FITS)
            await vendor.locator('[name="price.1"]').fill("150")
            await attach(vendor)
            await vendor.get_by_role("button", name="Send the invoice").click()
            await expect(vendor.locator("h1")).to_have_text("Thank you: your answer is recorded")

    state = await waiting_for(handle, Stage.INVOICE_APPROVAL)
    assert state.invoice_cents == 46250
    await handle.execute_update(
        W.answer_invoice_approval, Decision(**answer("owner"), approve=True)
    )
    await eventually(lambda: handle.query(W.get_state), lambda s: s.status is RequestStatus.CLOSED)

    # The request's page: the lines, and the document through a short-lived link.
    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    lines = page.locator("[data-invoice-lines]")
    await expect(lines).to_contain_text("Replace the valve: 1.5 at 85.00 USD each, 127.50 USD")
    href = await page.locator("[data-invoice-document]").get_attribute("href")
    assert href is not None
    document = await desk.get(href)
    assert (document.status_code, document.content) == (200, PDF)

    # Payouts: this month's, with its invoice number; filtered; on a phone too.
    await page.goto(f"{desk.base_url}/maintenance/payouts")
    row = page.locator("[data-payout-rows] tr", has_text=request_id)
    await expect(row).to_contain_text("INV-1042")
    await expect(row).to_contain_text("462.50 USD")
    month = f"{state.created_at.astimezone(ZoneInfo('America/Los_Angeles')):%Y-%m}"
    await page.get_by_label("Month").fill(month)
    await page.get_by_label("Property").select_option(label="12 Harbor Lane")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(
        f"{desk.base_url}/maintenance/payouts?month={month}&property_id=harbor-12"
    )
    await expect(page.locator("[data-totals]")).to_contain_text("462.50 USD")
    await expect(page.locator("[data-csv]")).to_have_attribute(
        "href", f"/maintenance/payouts.csv?month={month}&property_id=harbor-12"
    )
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await expect(row).to_be_visible()
        assert await page.evaluate(FITS), width
