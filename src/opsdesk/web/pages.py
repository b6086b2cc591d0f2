"""Server-rendered pages: the shared Jinja environment, its filters, and static files.

Each desk keeps its page templates in ``<desk>/templates/`` and extends ``base.html`` from
here. Pages are plain HTML that work without JavaScript; ``static/app.js`` adds live
refresh (server-sent events) and in-place actions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import (
    ChoiceLoader,
    Environment,
    PackageLoader,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from opsdesk import clock
from opsdesk.access.roles import Identity, Role
from opsdesk.values import format_money
from opsdesk.web.deps import settings_of
from opsdesk.web.navigation import NOTICE_COOKIE, Notice, read_notice

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def money(cents: int | None, currency: str = "USD") -> str:
    """The ``money`` filter: an amount, or a dash for none."""
    return "—" if cents is None else format_money(cents, currency)


def reader_zone(request: Request) -> str:
    """The zone the signed-in person reads times in: their own setting, else the
    business's. Pages for owners, tenants and vendors use the property's instead."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is not None and identity.time_zone:
        return identity.time_zone
    return settings_of(request).business_time_zone


@pass_context
def when(context: Context, at: datetime | None) -> str:
    """The ``when`` filter: a moment in the reader's zone, which the page names once."""
    return clock.moment(at, reader_zone(context["request"]), named=False)


@pass_context
def short_when(context: Context, at: datetime | None) -> str:
    """The ``short_when`` filter, for a list: the time alone if it was today, else the day."""
    if at is None:
        return "\u2014"
    zone = reader_zone(context["request"])
    today = datetime.now(UTC).astimezone(clock.zone_of(zone)).date()
    if at.astimezone(clock.zone_of(zone)).date() == today:
        return clock.clock_time(at, zone)
    return clock.day(at, zone)


@pass_context
def zone_note(context: Context) -> str:
    """``Times are in Pacific time (PST).``: said once on each page, in its footer."""
    return clock.zone_note(reader_zone(context["request"]))


def may_act(request: Request) -> bool:
    """Whether the signed-in person may act (operator and up): a viewer's pages show no
    buttons they would only be refused at."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity is not None and identity.role.allows(Role.OPERATOR)


def new_key() -> str:
    """A fresh idempotency key for a rendered form: posting it twice acts once."""
    return uuid.uuid4().hex


def _environment() -> Environment:
    environment = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("opsdesk.web", "templates"),
                PackageLoader("opsdesk.orders", "templates"),
                PackageLoader("opsdesk.maintenance", "templates"),
                PackageLoader("opsdesk.reports", "templates"),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=money, when=when, short_when=short_when)
    environment.globals.update(new_key=new_key, may_act=may_act, zone_note=zone_note)
    return environment


templates = Jinja2Templates(env=_environment())


def dashboard_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    section: str,
    status_code: int = 200,
    notice: Notice | None = None,
) -> HTMLResponse:
    """A dashboard page under ``section`` of the navigation. It shows, and so uses up, the
    notice a form route left for it (or the one it is given)."""
    left = read_notice(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "section": section,
            "temporal_ui": settings_of(request).resolved_temporal_ui_url,
            "notice": notice or left,
            **context,
        },
        status_code=status_code,
    )
    if left is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")  # shown here, so used up
    return response


class _Anyone:
    """Declares a route open to all, uncounted: static assets (see ``opsdesk.web.auth``)."""

    access = "public"

    async def __call__(self) -> None:
        return None


anyone = _Anyone()


@router.get("/favicon.ico", dependencies=[Depends(anyone)])
async def favicon() -> FileResponse:
    # Browsers ask for /favicon.ico whatever the page links to; an SVG answers both.
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
