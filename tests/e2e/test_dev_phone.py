"""The dev phone in Chromium: an owner's call about a vendor's invoice lands on the
Mailbox's phone page; a person picks it up, hears the facts, presses 1, and the request is
paid and closed. Each key press is a request to the call's real webhook, signed as Twilio
signs it."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import Stage
from tests.conftest import BROWSER
from tests.maintenance.helpers import drive_to
from tests.waiting import eventually

pytestmark = BROWSER

SERVER_WAIT = 15_000


async def test_an_owner_approves_an_invoice_from_the_dev_phone(
    desk: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment
) -> None:
    created = await desk.post(
        "/api/maintenance/requests",
        json={
            "property_id": "harbor-12",
            "unit": "1A",
            "tenant": {"name": "Sam Rivera", "email": "sam.rivera@example.com"},
            "description": "The bathroom sink drains slowly and its tap drips all night",
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["request_id"]
    # A quote within the owner's limit: the next question for the owner is the invoice
    # (which the helper sends at 300.00, over the 200.00 estimate).
    await drive_to(request_handle(dev_env.client, request_id), Stage.INVOICE_APPROVAL, 20000)
    title = f"Call: review the invoice, request {request_id}"
    await eventually(lambda: desk.get("/mailbox/phone"), lambda r: title in r.text)

    await page.goto(f"{desk.base_url}/mailbox")
    await page.get_by_role("link", name="Phone").click()
    await expect(page).to_have_title("Phone · Mailbox · Ops Desk")
    call = page.locator("li[data-call]").filter(has_text=title)
    await expect(call).to_contain_text("to +14155550101")
    await call.get_by_role("button", name="Pick up").click()

    said = page.locator("[data-said]")
    await expect(page.locator("h2")).to_have_text("The caller hears")
    await expect(said).to_contain_text("12 Harbor Lane")
    await expect(said).to_contain_text(
        "invoices 300 dollars. That is 100 dollars over the estimate."
    )
    await expect(said).to_contain_text("Press 1 to approve")

    await page.get_by_role("group", name="Keypad").get_by_role("button", name="9").click()
    await expect(page.locator("[data-heard]")).to_have_text("You pressed 9.")
    await expect(said).to_contain_text("Do you approve paying the invoice?")
    # Words, sent with Enter: they are heard as words (a question), not as a key press.
    words = page.get_by_label("Or say something")
    await words.fill("hmm, what was the amount again?")
    await words.press("Enter")
    await expect(page.locator("[data-heard]")).to_have_text(
        "You said “hmm, what was the amount again?”."
    )
    await expect(said).to_contain_text("invoices 300 dollars")

    await page.get_by_role("group", name="Keypad").get_by_role("button", name="1").click()
    await expect(page.locator("[data-heard]")).to_have_text("You pressed 1.")
    await expect(said).to_contain_text(
        "I have recorded that you approve the invoice of 300 dollars from FlowRight Plumbing",
        timeout=SERVER_WAIT,
    )
    await expect(said).to_contain_text("Thank you, goodbye.")
    await expect(page.get_by_role("group", name="Keypad")).to_have_count(0)
    await page.get_by_role("button", name="Done: end the call").click()
    await expect(page.locator("[data-notice]")).to_contain_text("The call to +14155550101 hung up.")

    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    timeline = page.locator("main")
    await expect(page.locator("[data-status]")).to_have_text("closed", timeout=SERVER_WAIT)
    await expect(timeline).to_contain_text("by phone")
    # Paid and closed before the caller hung up: the request's messages keep how it ended.
    call = page.locator("li[data-message]").filter(has_text="Call: review the invoice")
    await expect(call.locator("[data-call-outcome]")).to_have_text("The call ended.")
