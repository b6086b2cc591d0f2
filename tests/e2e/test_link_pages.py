"""The pages behind the email links and the emails themselves, measured in Chromium at a
desktop's width and a phone's: an owner sees what they approve and by when, large; no row
repeats another; a used link says who answered, how and when, and what happens next; a
tenant cannot give a time that has passed; a vendor books one of the tenant's windows (or
says none works) by choosing it; and a repair email, delivered through the SMTP sink,
comes from the repairs desk and fits a phone without cutting off its fallback address."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import AvailabilityAnswer, Window
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.notify.devmail import DevMailbox, Mail, mailbox_path
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.maintenance.helpers import (
    LEAK,
    answer,
    drive_to,
    link_for,
    newest_message,
    waiting_for,
)
from tests.waiting import eventually

pytestmark = BROWSER

OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"
PLUMBER = "jobs@flowright.example"
ZONE = ZoneInfo("America/Los_Angeles")  # 12 Harbor Lane's
WIDTHS = (1440, 390)
SERVER_WAIT = 15_000
ZONE_NAMED = re.compile(r"\bP[SD]T\b")

# Nothing on the page is wider than the window (the page does not scroll sideways).
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@asynccontextmanager
async def tab(browser: Browser, width: int) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        await context.close()


async def reported(desk: httpx.AsyncClient) -> str:
    created = await desk.post(
        "/api/maintenance/requests",
        json={
            "property_id": "harbor-12",
            "unit": "1A",
            "tenant": {"name": "Sam Rivera", "email": TENANT},
            "description": LEAK,
        },
    )
    assert created.status_code == 201, created.text
    request_id: str = created.json()["request_id"]
    return request_id


async def facts_repeat(page: Page) -> list[str]:
    """Labels or values shown more than once in the facts."""
    labels = await page.locator(".facts dt").all_inner_texts()
    values = await page.locator(".facts dd").all_inner_texts()
    return [t for t in labels + values if (labels + values).count(t) > 1]


async def check_owner_page(page: Page, url: str, figure: str, note: str) -> None:
    await page.goto(url)
    await expect(page.locator("[data-figure] .amount")).to_have_text(figure)
    await expect(page.locator("[data-figure]")).to_contain_text(note)
    when = page.locator("[data-deadline] .when")
    await expect(when).to_be_visible()
    await expect(when).to_have_text(ZONE_NAMED)
    size = await when.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    body = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 1.5 * body, (size, body)
    # Both the amount and the deadline are on the first screen, above the facts.
    for shown in (page.locator("[data-figure]"), page.locator("[data-deadline]")):
        box = await shown.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= 900, box
    assert await facts_repeat(page) == []
    assert await page.evaluate(FITS), url


async def test_the_owner_sees_what_they_approve_and_by_when_in_large_type(
    desk: httpx.AsyncClient, dev_env: WorkflowEnvironment, db: Database, browser: Browser
) -> None:
    request_id = await reported(desk)
    handle = request_handle(dev_env.client, request_id)
    # The sample invoice is 300.00, under the 320.00 approved.
    for stage, figure, note in (
        (Stage.OWNER_APPROVAL, "250.00 USD", "A quote up to this amount"),
        (Stage.ESTIMATE_APPROVAL, "320.00 USD", "above your approval limit"),
        (Stage.INVOICE_APPROVAL, "300.00 USD", "Within the estimate"),
    ):
        sent = await newest_message(db)
        await drive_to(handle, stage, quote=32000)
        url = f"{desk.base_url}{await link_for(db, request_id, OWNER, after=sent)}"
        for width in WIDTHS:
            async with tab(browser, width) as page:
                await check_owner_page(page, url, figure, note)


async def test_a_used_link_says_what_was_answered_when_and_what_happens_next(
    desk: httpx.AsyncClient, dev_env: WorkflowEnvironment, db: Database, browser: Browser
) -> None:
    request_id = await reported(desk)
    handle = request_handle(dev_env.client, request_id)
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    url = f"{desk.base_url}{await link_for(db, request_id, OWNER)}"
    for width in WIDTHS:
        async with tab(browser, width) as page:
            await page.goto(url)
            await expect(page.locator("main")).not_to_contain_text("Opening this page")
            if width == WIDTHS[0]:
                await page.get_by_role("button", name="Approve", exact=True).click()
                done = page.locator("[data-outcome]")
                await expect(done).to_have_attribute(
                    "data-outcome", "recorded", timeout=SERVER_WAIT
                )
                await page.goto(url)
            used = page.locator("[data-outcome]")
            await expect(used).to_have_attribute("data-outcome", "used")
            await expect(used).to_contain_text(
                re.compile(r"On .+ P[SD]T, you approved the repair with this link\.")
            )
            await expect(used.locator("h2")).to_have_text("What happens next")
            await expect(used.locator("[data-next]")).to_contain_text(
                "We are asking a vendor to quote for the repair."
            )
            text = await used.inner_text()
            assert "UTC" not in text, text
            assert "VENDOR_QUOTE" not in text, text
            assert await page.evaluate(FITS)

    # The tenant reads their own words as theirs.
    await drive_to(handle, Stage.AVAILABILITY)
    tenant = f"{desk.base_url}{await link_for(db, request_id, TENANT)}"
    for width in WIDTHS:
        async with tab(browser, width) as page:
            await page.goto(tenant)
            facts = page.locator(".facts")
            await expect(facts).to_contain_text("What you told us")
            await expect(facts).not_to_contain_text("Tenant's words")
            await expect(facts).not_to_contain_text("Priority")
            assert await facts_repeat(page) == []
            assert await page.evaluate(FITS)


async def test_a_tenant_cannot_give_a_past_time_and_the_vendor_books_one_of_theirs(
    desk: httpx.AsyncClient, dev_env: WorkflowEnvironment, db: Database, browser: Browser
) -> None:
    request_id = await reported(desk)
    handle = request_handle(dev_env.client, request_id)
    await drive_to(handle, Stage.AVAILABILITY)
    tenant = f"{desk.base_url}{await link_for(db, request_id, TENANT)}"
    sent = await newest_message(db)
    today = datetime.now(ZONE).date()
    yesterday, first, second = (today + timedelta(days=n) for n in (-1, 1, 2))

    async with tab(browser, 390) as page:
        await page.goto(tenant)
        one = page.get_by_role("group", name="Time 1", exact=True)
        # The day picker starts at today in the building's time.
        assert await one.get_by_label("Day").get_attribute("min") == today.isoformat()
        await one.get_by_label("Day").fill(yesterday.isoformat())
        await one.get_by_label("From").fill("09:00")
        await one.get_by_label("To").fill("12:00")
        # The browser refuses a day before today...
        day = one.get_by_label("Day")
        assert await day.evaluate("el => el.validity.rangeUnderflow")
        await page.get_by_role("button", name="Send my times").click()
        await expect(page.locator("[data-outcome], [data-error]")).to_have_count(0)
        # ...and so does the server, in words, when a browser does not check.
        await page.locator("form.answer").evaluate("form => { form.noValidate = true; }")
        await page.get_by_role("button", name="Send my times").click()
        error = page.locator("[data-error]")
        await expect(error).to_have_text(
            "Time 1: that time has already passed; give a time that is still to come."
        )
        # What was typed is still there to correct.
        assert await one.get_by_label("From").input_value() == "09:00"
        assert (await handle.query(W.get_state)).latest(Stage.AVAILABILITY).answer is None  # type: ignore[union-attr]
        assert await page.evaluate(FITS)

        await one.get_by_label("Day").fill(first.isoformat())
        two = page.get_by_role("group", name="Time 2 (optional)", exact=True)
        await two.get_by_label("Day").fill(second.isoformat())
        await two.get_by_label("From").fill("13:00")
        await two.get_by_label("To").fill("17:00")
        await page.get_by_role("button", name="Send my times").click()
        done = page.locator("[data-outcome]")
        await expect(done).to_have_attribute("data-outcome", "recorded", timeout=SERVER_WAIT)
        await expect(done).to_contain_text("you gave 2 times to be at home for the visit")
        await expect(done.locator("[data-next]")).to_contain_text(
            "FlowRight Plumbing is choosing a visit from the times you gave"
        )

    await waiting_for(handle, Stage.SLOT)
    vendor = f"{desk.base_url}{await link_for(db, request_id, PLUMBER, after=sent)}"
    first_day = f"{first:%a} {first.day} {first:%b}"
    second_day = f"{second:%a} {second.day} {second:%b}"
    for width in WIDTHS:
        async with tab(browser, width) as page:
            await page.goto(vendor)
            choices = page.get_by_role("radio")
            await expect(choices).to_have_count(3)
            await expect(page.locator("label.slot").nth(0)).to_contain_text(
                re.compile(rf"{first_day}, 9:00 AM to 12:00 PM P[SD]T")
            )
            await expect(page.locator("label.slot").nth(1)).to_contain_text(
                re.compile(rf"{second_day}, 1:00 PM to 5:00 PM P[SD]T")
            )
            await expect(page.get_by_label(re.compile("None of these times works"))).to_be_visible()
            # No day or time to retype.
            await expect(page.locator('input[type="date"]')).to_have_count(0)
            assert await page.evaluate(FITS)
            if width != WIDTHS[-1]:
                continue
            await page.get_by_label(re.compile(second_day)).check()
            await page.get_by_label("Arrival time (optional)").fill("18:00")
            await page.get_by_role("button", name="Send my answer").click()
            await expect(page.locator("[data-error]")).to_contain_text(
                "The arrival time must be within the time you chose"
            )
            await page.get_by_label("Arrival time (optional)").fill("14:30")
            await page.get_by_role("button", name="Send my answer").click()
            done = page.locator("[data-outcome]")
            await expect(done).to_have_attribute("data-outcome", "recorded", timeout=SERVER_WAIT)
            await expect(done).to_contain_text(
                re.compile(rf"you booked the visit for {second_day}, 2:30 PM to 5:00 PM P[SD]T")
            )
    state = await handle.query(W.get_state)
    assert state.slot is not None
    local = (state.slot.start.astimezone(ZONE), state.slot.end.astimezone(ZONE))
    assert [(t.date(), f"{t:%H:%M}") for t in local] == [(second, "14:30"), (second, "17:00")]


async def test_a_vendor_for_whom_no_time_works_sends_the_tenant_back_for_others(
    desk: httpx.AsyncClient, dev_env: WorkflowEnvironment, db: Database, browser: Browser
) -> None:
    request_id = await reported(desk)
    handle = request_handle(dev_env.client, request_id)
    await drive_to(handle, Stage.AVAILABILITY)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    sent = await newest_message(db)
    await handle.execute_update(
        W.answer_availability,
        AvailabilityAnswer(
            **answer("Sam"), windows=[Window(start=tomorrow, end=tomorrow + timedelta(hours=2))]
        ),
    )
    await waiting_for(handle, Stage.SLOT)
    vendor = f"{desk.base_url}{await link_for(db, request_id, PLUMBER, after=sent)}"
    async with tab(browser, 390) as page:
        await page.goto(vendor)
        await page.get_by_label(re.compile("None of these times works")).check()
        await page.get_by_label("Note (optional)").fill("We are booked all week")
        await page.get_by_role("button", name="Send my answer").click()
        done = page.locator("[data-outcome]")
        await expect(done).to_have_attribute("data-outcome", "recorded", timeout=SERVER_WAIT)
        await expect(done).to_contain_text("you said none of the times given works")
        await expect(done.locator("[data-next]")).to_contain_text(
            "We have asked the tenant when they are at home for the visit."
        )
    state = await waiting_for(handle, Stage.AVAILABILITY, round=2)
    assert state.slot is None
    assert any("None of the tenant's times works" in e.event for e in state.timeline)

    # The tenant is asked again, and told why.
    async def asked_again() -> list[str]:
        async with db.transaction() as session:
            return list(
                await session.scalars(
                    select(OutboxMessage.body_text)
                    .where(
                        OutboxMessage.reference == request_workflow_id(request_id),
                        OutboxMessage.to_address == TENANT,
                        OutboxMessage.subject.like("Give your times%"),
                    )
                    .order_by(OutboxMessage.id)
                )
            )

    bodies = await eventually(asked_again, lambda found: len(found) == 2)
    assert "FlowRight Plumbing cannot come at any of the times you gave." in bodies[1]
    assert "cannot come" not in bodies[0]


async def _mail_to(settings: Settings, to: str, subject: str) -> Mail:
    box = DevMailbox(mailbox_path(settings))

    def found() -> Mail | None:
        return next((m for m in box.recent() if m.to == to and subject in m.subject), None)

    async def look() -> Mail | None:
        return found()

    mail = await eventually(look, lambda m: m is not None)
    assert mail is not None
    return mail


async def test_repair_mail_comes_from_the_repairs_desk_and_fits_a_phone(
    desk: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings, browser: Browser
) -> None:
    request_id = await reported(desk)
    await waiting_for(request_handle(dev_env.client, request_id), Stage.OWNER_APPROVAL)
    mail = await _mail_to(settings, OWNER, f"Approve or decline: request {request_id}")
    assert mail.sender == "Ops Desk repairs <repairs@opsdesk.local>"
    assert mail.html is not None
    assert mail.text is not None
    link = re.search(r"https?://\S+/links/\S+", mail.text)
    assert link is not None
    for width in WIDTHS:
        async with tab(browser, width) as page:
            await page.set_content(mail.html)
            assert await page.evaluate(FITS), width
            fallback = page.locator("[data-fallback]")
            # The whole address shows, wrapped inside the message, not cut off.
            await expect(fallback).to_have_text(link.group(0))
            box = await fallback.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
            font = await fallback.evaluate("el => getComputedStyle(el).fontFamily")
            assert "sans-serif" in font, font
            card = await page.locator("div").nth(1).bounding_box()
            assert card is not None
            assert card["width"] <= 600
            # The deadline in the property's time, its zone named.
            assert ZONE_NAMED.search(await page.locator("table").inner_text())
