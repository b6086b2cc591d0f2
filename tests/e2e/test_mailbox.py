"""The dev mailbox in Chromium: an order's email goes through the worker and the real SMTP sink
into the Mailbox page, shows there as it will look, and its link opens the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosmtplib
import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.notify.devmail import DevMailbox, mailbox_path
from opsdesk.notify.sink import DevMailSink
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.conftest import BROWSER
from tests.http import served
from tests.orders.helpers import body, order_worker, until_status
from tests.staff import person, token_for
from tests.waiting import eventually

pytestmark = BROWSER

# What a message's HTML might try: none of it may run.
HOSTILE_HTML = """<p id="hello">Hello</p>
<script>document.body.dataset.ran = "script"; top.document.title = "taken over";</script>
<img src="data:," onerror="document.body.dataset.ran = 'handler'">"""


@pytest.fixture
async def mail_site(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, DevMailSink]]:
    """The app and a worker as ``opsdesk dev`` runs them without SMTP settings: mail goes to
    the sink, and the links in it point at the app."""
    await person(db)
    sink = DevMailSink(DevMailbox(mailbox_path(settings)))
    sink.start()
    settings = settings.model_copy(update={"dev_mailbox_port": sink.port})
    try:
        async with served(create_app(settings, dev_env.client)) as url:
            worker_settings = settings.model_copy(update={"public_url": url})
            async with (
                order_worker(dev_env, db, worker_settings),
                httpx.AsyncClient(
                    base_url=url,
                    timeout=30,
                    headers={"Authorization": f"Bearer {await token_for(db)}"},
                ) as http,
            ):
                yield http, sink
    finally:
        sink.stop()


async def test_a_delivered_message_shows_as_it_will_look_and_its_link_opens_the_app(
    mail_site: tuple[httpx.AsyncClient, DevMailSink], page: Page
) -> None:
    site, sink = mail_site
    created = await site.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4))
    order_id = created.json()["order_id"]
    await until_status(site, order_id, "REVIEW")
    subject = f"Review needed: order #{order_id}"  # a numbered order, as people read it
    await eventually(
        lambda: site.get("/api/outbox"),
        lambda r: any(m["status"] == "delivered_dev" for m in r.json()["items"]),
    )

    await page.goto(f"{site.base_url}/")
    # The dashboard's outbox says where the mail went.
    outbox = page.locator(".side .outbox")
    await expect(outbox.get_by_role("link", name="delivered to the dev mailbox")).to_be_visible()
    nav = page.get_by_role("navigation", name="Sections")
    await nav.get_by_role("link", name="Mailbox").click()
    await expect(page).to_have_title("Mailbox · Ops Desk")
    await page.get_by_role("link", name=subject).click()

    await expect(page.locator("h1")).to_contain_text(subject)
    facts = page.locator(".mail .facts")
    await expect(facts).to_contain_text("Ops Desk <orders@opsdesk.local>")
    await expect(facts).to_contain_text("ops@opsdesk.local")
    await expect(page.locator(".mail-text")).to_contain_text(f"{site.base_url}/orders/{order_id}")
    frame = page.frame_locator("iframe.mail-html")
    await expect(frame.locator("body")).to_contain_text("needs a review before payment")
    # A link in the HTML opens the app in the whole window, not inside the frame.
    await frame.get_by_role("link", name="Approve or reject it").click()
    await expect(page).to_have_url(f"{site.base_url}/orders/{order_id}")
    await expect(page.get_by_role("button", name="Approve")).to_be_visible()

    # A message whose HTML carries script: it shows, and none of the script runs.
    await aiosmtplib.send(
        _html_message("Hostile", HOSTILE_HTML),
        sender="x@example.com",
        recipients=["ops@opsdesk.local"],
        hostname="127.0.0.1",
        port=sink.port,
    )
    await page.goto(f"{site.base_url}/mailbox")
    await page.get_by_role("link", name="Hostile").click()
    frame = page.frame_locator("iframe.mail-html")
    await expect(frame.locator("#hello")).to_have_text("Hello")
    await expect(frame.locator("body[data-ran]")).to_have_count(0)
    await expect(page).to_have_title("Hostile · Mailbox · Ops Desk")

    # On a phone nothing is wider than the screen.
    await page.set_viewport_size({"width": 390, "height": 844})
    for url in (page.url, f"{site.base_url}/mailbox"):
        await page.goto(url)
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth"), url


def _html_message(subject: str, html: str) -> str:
    return (
        f"Subject: {subject}\r\nFrom: x@example.com\r\nTo: ops@opsdesk.local\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{html}\r\n"
    )
