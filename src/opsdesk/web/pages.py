"""Server-rendered pages: the shared Jinja environment, its filters, and static files.

Each desk keeps its page templates in ``<desk>/pages/`` and extends ``base.html`` from
here. Pages are plain HTML that work without JavaScript; ``static/app.js`` adds live
refresh (server-sent events) and in-place actions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

STATIC_DIR = Path(__file__).parent / "static"


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "—"
    return f"{cents / 100:,.2f} {currency}"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%b %d %H:%M")


def _environment() -> Environment:
    environment = Environment(
        loader=ChoiceLoader(
            [PackageLoader("opsdesk.web", "templates"), PackageLoader("opsdesk.orders", "pages")]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=money, when=when, short_when=short_when)
    return environment


templates = Jinja2Templates(env=_environment())
