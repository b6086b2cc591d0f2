"""The dashboard's Mailbox: what ``opsdesk dev``'s SMTP sink received, each message as it
will look. A dev tool, so it is listed in the top bar only while the dev mailbox is in use.

Calls have a page of their own beside it (``opsdesk.notify.phone_views``).

A message's HTML is served alone, from its own route, into a sandboxed frame: no script in
it runs, and it cannot reach the dashboard. Its links open in the whole window (or a new
tab when they ask for one), as they would from a mail client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, PackageLoader

from opsdesk.notify.devmail import DevMailbox, Mail, mailbox_path, uses_dev_mailbox
from opsdesk.notify.email import message_id
from opsdesk.settings import Settings
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.pages import templates as dashboard_templates

PAGE_SIZE = 100
MAX_KEY_LENGTH = 200
NO_SUCH_MESSAGE = "no such message in the dev mailbox"

# What the frame and the HTML route both allow: popups that are ordinary tabs, and moving the
# whole window when a person clicks. No scripts, forms or same-origin access.
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
CONTENT_SECURITY_POLICY = (
    f"sandbox {SANDBOX}; default-src 'none'; img-src data: http: https:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)
# Links in the HTML open in the whole window, not inside the frame. The first <base> with a
# target wins, and nothing of the message's comes before it.
_BASE = '<!doctype html>\n<base target="_top">\n'


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs inside the app's lifespan, which has put the settings on the app.
    settings: Settings = app.state.settings
    app.state.dev_mailbox = (
        DevMailbox(mailbox_path(settings)) if uses_dev_mailbox(settings) else None
    )
    yield


router = APIRouter(include_in_schema=False, lifespan=_lifespan, dependencies=VIEWER)

# The dashboard's environment (its layout, filters and globals), finding this package's
# templates too.
_dashboard_loader = dashboard_templates.env.loader
assert _dashboard_loader is not None
templates = Jinja2Templates(
    env=dashboard_templates.env.overlay(
        loader=ChoiceLoader([PackageLoader("opsdesk.notify", "templates"), _dashboard_loader])
    )
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "section": "mailbox",
            "temporal_ui": settings_of(request).resolved_temporal_ui_url,
            **context,
        },
        status_code=status_code,
    )


def _mailbox(request: Request) -> DevMailbox | None:
    mailbox: DevMailbox | None = getattr(request.app.state, "dev_mailbox", None)
    return mailbox


def _in_use(request: Request) -> DevMailbox:
    mailbox = _mailbox(request)
    if mailbox is None:
        raise ApiError(404, "not_found", "the dev mailbox is off: mail goes out over SMTP")
    return mailbox


async def _mail(request: Request, key: str) -> Mail:
    mailbox = _in_use(request)
    mail = await asyncio.to_thread(mailbox.get, key) if len(key) <= MAX_KEY_LENGTH else None
    if mail is None:
        raise ApiError(404, "not_found", NO_SUCH_MESSAGE)
    return mail


@router.get("/mailbox", response_class=HTMLResponse)
async def mailbox_page(request: Request) -> HTMLResponse:
    mailbox = _mailbox(request)
    if mailbox is None:
        return render(request, "notify/mailbox.html", off=True)

    def read() -> tuple[list[Mail], int]:
        return mailbox.recent(PAGE_SIZE), mailbox.count()

    mails, total = await asyncio.to_thread(read)
    return render(request, "notify/mailbox.html", mails=mails, total=total, path=mailbox.path)


@router.get("/mailbox/outbox/{key:path}")
async def outbox_message(request: Request, key: str) -> RedirectResponse:
    """The message an outbox entry became, found by its Message-ID."""
    mailbox = _in_use(request)
    found = await asyncio.to_thread(mailbox.find, message_id(key))
    if found is None:
        raise ApiError(404, "not_found", NO_SUCH_MESSAGE)
    return RedirectResponse(f"/mailbox/{quote(found, safe='')}", status_code=303)


@router.get("/mailbox/{key}", response_class=HTMLResponse)
async def mail_page(request: Request, key: str) -> HTMLResponse:
    return render(request, "notify/mail.html", mail=await _mail(request, key), sandbox=SANDBOX)


@router.get("/mailbox/{key}/html")
async def mail_html(request: Request, key: str) -> Response:
    mail = await _mail(request, key)
    if mail.html is None:
        raise ApiError(404, "not_found", "this message has no HTML part")
    return HTMLResponse(
        _BASE + mail.html,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
