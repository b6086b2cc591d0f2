"""The dev phone in Chromium: an owner's call about a vendor's invoice lands on the
Mailbox's phone page; a person picks it up, hears the facts, presses 1, and the request is
paid and closed. Each key press is a request to the call's real webhook, signed as Twilio
signs it. The call shows where it is (ringing, on the line, ended, or answered by email
first), and reloading the call's page never presses a key again."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, Request, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.service import get_request, request_handle
from opsdesk.maintenance.status import Stage
from tests.conftest import BROWSER
from tests.maintenance.helpers import drive_to, link_for
from tests.waiting import eventually

pytestmark = BROWSER

SERVER_WAIT = 15_000
OWNER_EMAIL = "owner@harborlane.example"


async def reported(desk: httpx.AsyncClient) -> str:
    """A tenant reports a slow sink at the sample property: the new request's id."""
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
    request_id: str = created.json()["request_id"]
    return request_id


async def _at_invoice_approval(desk: httpx.AsyncClient, dev_env: WorkflowEnvironment) -> str:
    """A request whose owner is being asked, by email and by phone, to approve an invoice
    over the estimate; its id once the call is on the dev phone."""
    request_id = await reported(desk)
    # A quote within the owner's limit: the next question for the owner is the invoice
    # (which the helper sends at 300.00, over the 200.00 estimate).
    await drive_to(request_handle(dev_env.client, request_id), Stage.INVOICE_APPROVAL, 20000)
    title = _title(request_id)
    await eventually(lambda: desk.get("/mailbox/phone"), lambda r: title in r.text)
    return request_id


def _title(request_id: str) -> str:
    return f"Call: review the invoice, request {request_id}"


async def test_an_owner_approves_an_invoice_from_the_dev_phone(
    desk: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment
) -> None:
    request_id = await _at_invoice_approval(desk, dev_env)
    title = _title(request_id)

    await page.goto(f"{desk.base_url}/mailbox")
    await page.get_by_role("link", name="Phone").click()
    await expect(page).to_have_title("Phone · Mailbox · Ops Desk")
    call = page.locator("li[data-call]").filter(has_text=title)
    await expect(call).to_contain_text("to +14155550101")
    await expect(call.locator("[data-call-label]")).to_have_text("Ringing")
    await expect(call.locator("[data-call-detail]")).to_have_text("Nobody has picked up yet.")
    # The request's page says the same, and where to pick it up.
    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    line = page.locator("li[data-message]").filter(has_text="Call: review the invoice")
    await expect(line.locator("[data-call-state]")).to_have_text(
        "Ringing on the dev phone: pick it up"
    )
    await line.get_by_role("link", name="pick it up").click()
    await expect(page.locator("[data-call-label]")).to_have_text("Ringing")
    await page.get_by_role("button", name="Pick up").click()
    # Post/Redirect/Get: the key press's answer is a page of its own.
    await expect(page).to_have_url(re.compile(r"/mailbox/phone/\d+$"))
    await expect(page.locator("[data-call-label]")).to_have_text("On the line")

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

    # Reloading the page reads the call again; it does not press 1 again (which the call's
    # webhook would answer with "already recorded").
    navigations: list[Request] = []
    page.on("request", lambda r: navigations.append(r) if r.is_navigation_request() else None)
    await page.reload()
    await expect(said).to_contain_text("I have recorded that you approve the invoice")
    await expect(said).not_to_contain_text("already recorded")
    assert [r.method for r in navigations] == ["GET"]
    state = await get_request(dev_env.client, request_id)
    answers = [q.answer for q in state.questions if q.answer and q.answer.channel == "phone"]
    assert len(answers) == 1, answers

    await page.get_by_role("button", name="Done: end the call").click()
    await expect(page.locator("[data-notice]")).to_contain_text("The call to +14155550101 hung up.")
    call = page.locator("li[data-call]").filter(has_text=title)
    await expect(call.locator("[data-call-label]")).to_have_text("Ended")
    await expect(call.locator("[data-call-detail]")).to_have_text("The call ended.")
    await expect(call.get_by_role("button", name="Pick up")).to_have_count(0)

    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    timeline = page.locator("main")
    await expect(page.locator("[data-status]")).to_have_text("closed", timeout=SERVER_WAIT)
    await expect(timeline).to_contain_text("by phone")
    # Paid and closed before the caller hung up: the request's messages keep how it ended.
    call = page.locator("li[data-message]").filter(has_text="Call: review the invoice")
    await expect(call.locator("[data-call-outcome]")).to_have_text("The call ended.")
    await expect(call).not_to_contain_text("pick it up")


async def test_a_call_answered_by_email_first_says_so(
    desk: httpx.AsyncClient, page: Page, dev_env: WorkflowEnvironment, db: Database
) -> None:
    request_id = await _at_invoice_approval(desk, dev_env)
    link = await link_for(db, request_id, OWNER_EMAIL)

    # While the phone rings, the owner approves from the email's link.
    await page.goto(f"{desk.base_url}{link}")
    await page.get_by_role("button", name="Approve", exact=True).click()
    await expect(page.locator("[data-outcome]")).to_have_attribute(
        "data-outcome", "recorded", timeout=SERVER_WAIT
    )

    await page.goto(f"{desk.base_url}/mailbox/phone")
    call = page.locator("li[data-call]").filter(has_text=_title(request_id))
    await expect(call.locator("[data-call-label]")).to_have_text("Answered by email first")
    await expect(call.locator("[data-call-detail]")).to_contain_text(
        "Harbor Lane Holdings approved by email, "
    )
    await expect(call.locator("[data-call-detail]")).to_contain_text("Nobody needs to pick up")
    await page.goto(f"{desk.base_url}/maintenance/{request_id}")
    line = page.locator("li[data-message]").filter(has_text="Call: review the invoice")
    await expect(line.locator("[data-call-state]")).to_have_text(
        "Answered by email first: nothing to pick up."
    )
    await expect(line).not_to_contain_text("pick it up")

    # Picked up all the same, the call says who answered, and ends.
    await page.goto(f"{desk.base_url}/mailbox/phone")
    await call.get_by_role("button", name="Pick up").click()
    await expect(page.locator("[data-said]")).to_contain_text(
        "This was already answered by Harbor Lane Holdings by email"
    )
    await expect(page.locator("[data-call-label]")).to_have_text("Answered by email first")
    await page.get_by_role("button", name="Done: end the call").click()
    await expect(call.locator("[data-call-detail]")).to_contain_text("The call ended.")
