"""One repair request walked in Chromium from the tenant's form to CLOSED, every answer given
the way people give it: open the Mailbox page, open the newest message to the person asked,
click the button inside the message, fill in the page behind the link and send it.

The real worker runs the workflow on the dev server, its emails go through the dev
mailbox's SMTP sink, and the links in them open the app on loopback. On the way: opening a
link's page changes nothing, and sending it says the answer was recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import FilePayload, Page, expect

from opsdesk.maintenance.directory import sample_directory
from tests.conftest import BROWSER
from tests.e2e.maildesk import click_mail_button, open_mail
from tests.waiting import eventually

pytestmark = BROWSER

OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"
PLUMBER = "jobs@flowright.example"
# Plumbing, routine (offline triage): the owner is asked first.
PROBLEM = "The bathroom sink drains slowly and its tap drips all night"
ZONE = ZoneInfo("America/Los_Angeles")  # 12 Harbor Lane's
# For what waits on the worker (an answer's update, the payout), on a busy 2-core runner.
SERVER_WAIT = 15_000
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@dataclass(frozen=True)
class Step:
    """One question: who is asked, by which email and button, and what the request's
    status is while it waits."""

    to: str
    button: str
    status: str
    stage: str


async def test_a_request_walks_from_the_tenant_form_to_closed_through_the_mailbox(
    desk: httpx.AsyncClient, page: Page
) -> None:
    site = desk

    # -- the tenant reports the problem ---------------------------------------------------
    await page.goto(f"{site.base_url}/report")
    await expect(page).to_have_title("Report a repair")
    await page.get_by_label("Building").select_option(label=_building_label())
    await page.get_by_label("Unit").fill("1A")
    await page.get_by_label("Your name").fill("Sam Rivera")
    await page.get_by_label("Email").fill(TENANT)
    await page.get_by_label("What is wrong?").fill(PROBLEM)
    await page.get_by_role("button", name="Send the report").click()

    received = page.locator("[data-received]")
    await expect(received).to_contain_text("Thank you: we have your report", timeout=SERVER_WAIT)
    request_id = await received.get_attribute("data-received")
    assert request_id
    # The receipt's address carries no follow link: that goes only to the address typed.
    await expect(page).to_have_url(f"{site.base_url}/report/received/{request_id}")
    await expect(received).to_contain_text("We emailed you a copy, with a link to follow")

    async def state() -> dict[str, Any]:
        response = await site.get(f"/api/maintenance/requests/{request_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def answer(step: Step, fill: Callable[[], Awaitable[None]]) -> None:
        """Open the step's email from the Mailbox, follow its button, check the page alone
        did nothing, fill it in and send it."""
        subject = f"{step.button}: request {request_id}"
        await open_mail(page, site, to=step.to, subject=subject)
        await click_mail_button(page, site, step.button)
        form = page.locator(f'form.answer[data-stage="{step.stage}"]')
        try:
            await expect(form).to_be_visible()
        except AssertionError:
            shown = await page.locator("h1").first.text_content()
            raise AssertionError(f"{subject}: its link opened {page.url!r}: {shown!r}") from None
        await expect(page.locator(".facts")).to_contain_text(request_id)
        # Opening the page (as a mail scanner would) acts on nothing.
        now = await state()
        assert now["status"] == step.status, now["status"]
        assert now["question"]["stage"] == step.stage
        assert now["question"]["answer"] is None, now["question"]
        await fill()
        outcome = page.locator("[data-outcome]")
        await expect(outcome).to_have_attribute("data-outcome", "recorded", timeout=SERVER_WAIT)
        await expect(outcome.locator("h1")).to_have_text("Thank you: your answer is recorded")
        await expect(outcome).to_contain_text("with this link.")
        await expect(outcome.locator("h2")).to_have_text("What happens next")

    async def click(name: str) -> None:
        await page.get_by_role("button", name=name, exact=True).click()

    # -- the owner approves -----------------------------------------------------------------
    async def approve() -> None:
        await expect(page.locator(".facts")).to_contain_text(PROBLEM)
        await click("Approve")

    await answer(Step(OWNER, "Approve or decline", "OWNER_APPROVAL", "owner_approval"), approve)

    # -- the plumber quotes under the owner's limit (250.00): no estimate approval ---------
    async def quote() -> None:
        await page.get_by_label("Your quote").fill("180.00")
        await click("Send the quote")

    await answer(Step(PLUMBER, "Send your quote", "VENDOR_QUOTE", "vendor_quote"), quote)

    # -- the tenant is at home from the start of this hour, in the property's time ---------
    # (the visit must have begun before the plumber can mark the work done)
    now = datetime.now(ZONE)
    day = now.date().isoformat()
    since = f"{now.hour:02d}:00"
    until = "23:59" if now.hour >= 12 else f"{now.hour + 11:02d}:59"

    async def times() -> None:
        first = page.get_by_role("group", name="Time 1", exact=True)
        await first.get_by_label("Day").fill(day)
        await first.get_by_label("From").fill(since)
        await first.get_by_label("To").fill(until)
        await click("Send my times")

    await answer(Step(TENANT, "Give your times", "SCHEDULING", "availability"), times)

    # -- the plumber books a visit: the tenant's window, chosen ------------------------------
    async def visit() -> None:
        await page.get_by_role("radio").first.check()
        await click("Send my answer")

    await answer(Step(PLUMBER, "Book a visit", "SCHEDULING", "slot"), visit)

    # -- the work is done, and the tenant says it is fixed ---------------------------------
    async def done() -> None:
        await expect(page.locator(".facts")).to_contain_text(f"{_clock(since)} to {_clock(until)}")
        await click("The work is done")

    await answer(Step(PLUMBER, "Mark the work done", "IN_PROGRESS", "work_done"), done)

    async def fixed() -> None:
        await click("Yes, it is fixed")

    await answer(Step(TENANT, "Confirm the repair", "COMPLETION", "completion"), fixed)

    # -- the plumber invoices 10.00 over the estimate; the owner sees it and approves -------
    async def invoice() -> None:
        await expect(page.locator(".facts")).to_contain_text("180.00 USD")
        await page.get_by_label("Invoice number").fill("INV-77")
        await page.locator('[name="description.0"]').fill("Clear the drain and refit the tap")
        await page.locator('[name="quantity.0"]').fill("1")
        await page.locator('[name="price.0"]').fill("190.00")
        await page.get_by_label("The invoice itself").set_input_files(
            files=[FilePayload(name="INV-77.pdf", mimeType="application/pdf", buffer=PDF)]
        )
        await click("Send the invoice")

    await answer(Step(PLUMBER, "Send the invoice", "INVOICE", "invoice"), invoice)

    async def approve_invoice() -> None:
        figure = page.locator("[data-figure]")
        await expect(figure.locator(".amount")).to_have_text("190.00 USD")
        await expect(figure).to_contain_text(
            "10.00 USD (6 %) over the estimate of 180.00 USD you approved."
        )
        await click("Approve")

    await answer(
        Step(OWNER, "Review the invoice", "INVOICE_APPROVAL", "invoice_approval"),
        approve_invoice,
    )

    # -- paid and closed ---------------------------------------------------------------------
    await page.goto(f"{site.base_url}/maintenance/{request_id}")
    await expect(page.locator(".order-head [data-status]")).to_have_text(
        "closed", timeout=2 * SERVER_WAIT
    )
    final = await eventually(state, lambda s: s["status"] == "CLOSED")
    asked = [(q["stage"], q["answer"]["channel"]) for q in final["questions"]]
    assert asked == [
        ("owner_approval", "email"),
        ("vendor_quote", "email"),
        ("availability", "email"),
        ("slot", "email"),
        ("work_done", "email"),
        ("completion", "email"),
        ("invoice", "email"),
        ("invoice_approval", "email"),
    ]
    assert (final["quote_cents"], final["approved_cents"], final["invoice_cents"]) == (
        18000,
        18000,
        19000,
    )


def _clock(hhmm: str) -> str:
    """``14:05`` as the pages write it: ``2:05 PM``."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _building_label() -> str:
    harbor = next(p for p in sample_directory().properties if p.id == "harbor-12")
    return f"{harbor.name} ({harbor.address})"
