"""Server-rendered pages: the shared Jinja environment, its filters, and static files.

Each desk keeps its page templates in ``<desk>/templates/`` and extends ``base.html`` from
here. Pages are plain HTML that work without JavaScript; ``static/app.js`` adds live
refresh (server-sent events) and in-place actions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from opsdesk.values import format_money

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


def money(cents: int | None, currency: str = "USD") -> str:
    """The ``money`` filter: an amount, or a dash for none."""
    return "—" if cents is None else format_money(cents, currency)


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%b %d %H:%M")


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
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=money, when=when, short_when=short_when)
    environment.globals.update(new_key=new_key)
    return environment


templates = Jinja2Templates(env=_environment())


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    # Browsers ask for /favicon.ico whatever the page links to; an SVG answers both.
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
