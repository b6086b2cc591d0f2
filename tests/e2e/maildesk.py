"""The desk as ``opsdesk dev`` runs it without SMTP settings, for browser tests that act
through the mail: the dev mailbox's SMTP sink, the app on a loopback port and a worker for
every task queue whose emails link to that app; and a person opening their mail on the
Mailbox page and clicking its button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.notify.devmail import DevMailbox, mailbox_path
from opsdesk.notify.sink import DevMailSink
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.conftest import free_port
from tests.http import served
from tests.staff import token_for
from tests.waiting import eventually


@asynccontextmanager
async def mail_desk(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Sink, app and worker; the client's base URL is the app, where the mail's links go.
    Triage is the offline rules, so a request's path does not depend on a model."""
    sink = DevMailSink(DevMailbox(mailbox_path(settings)))
    sink.start()
    # The port is chosen first, so the app and the worker agree on the public URL: the
    # links in the mail and the calls' webhooks (which the dev phone signs) name it.
    port = free_port()
    settings = settings.model_copy(
        update={
            "dev_mailbox_port": sink.port,
            "ai_provider": "rules",
            "public_url": f"http://127.0.0.1:{port}",
        }
    )
    try:
        async with (
            served(create_app(settings, env.client), port) as url,
            running(build_workers(env.client, db, settings)),
            httpx.AsyncClient(
                base_url=url, timeout=30, headers={"Authorization": f"Bearer {await token_for(db)}"}
            ) as http,
        ):
            yield http
    finally:
        sink.stop()


async def open_mail(
    page: Page, site: httpx.AsyncClient, *, to: str, subject: str, timeout: float = 30
) -> None:
    """Open the Mailbox page and, there, the newest message to ``to`` titled ``subject``.

    The Mailbox page does not refresh itself, so this waits (without the browser) until the
    sink has filed the message, then goes to the page as a person would."""

    async def listing() -> str:
        return (await site.get("/mailbox")).text

    await eventually(listing, lambda html: subject in html, timeout=timeout)
    await page.goto(f"{site.base_url}/mailbox")
    await expect(page).to_have_title("Mailbox · Ops Desk")
    theirs = page.locator("li[data-mail]").filter(
        has=page.locator(".to", has_text=re.compile(re.escape(to), re.IGNORECASE))
    )
    await theirs.get_by_role("link", name=subject, exact=True).first.click()
    await expect(page.locator(".mail h1.subject")).to_have_text(subject)
    await expect(page.locator(".mail .facts")).to_contain_text(to)


async def click_mail_button(page: Page, site: httpx.AsyncClient, button: str) -> None:
    """Click the link ``button`` inside the open message's HTML frame; it opens the app in
    the whole window."""
    frame = page.frame_locator("iframe.mail-html")
    await frame.get_by_role("link", name=button, exact=True).click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(str(site.base_url))}/links/"))
