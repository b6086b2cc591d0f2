"""Vendor scorecards for ops: the JSON API (one vendor's card, and every vendor's) and the
dashboard page with every vendor's card in a table. The numbers are ``scorecards``'s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from opsdesk import clock
from opsdesk.maintenance.scorecards import TARGET_DAYS, Scorecard, scorecards
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import db_of, settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.pages import dashboard_page

router = APIRouter()


class ScorecardsOut(BaseModel):
    items: list[Scorecard]
    target_days: int
    """The industry's target for days from report to completion."""
    vendor_order: str
    """How the next vendor of a trade is chosen: ``rank`` or ``scorecard``."""


@router.get("/api/maintenance/scorecards", tags=["maintenance"], dependencies=VIEWER)
async def list_scorecards(request: Request) -> ScorecardsOut:
    """Every vendor's scorecard, by rank: from the jobs kept when requests ended and the
    tenants' survey answers."""
    return ScorecardsOut(
        items=await scorecards(db_of(request)),
        target_days=TARGET_DAYS,
        vendor_order=settings_of(request).vendor_order,
    )


@router.get(
    "/api/maintenance/vendors/{vendor_id}/scorecard",
    tags=["maintenance"],
    dependencies=VIEWER,
    responses={404: {"description": "No such vendor"}},
)
async def vendor_scorecard(request: Request, vendor_id: str) -> Scorecard:
    """One vendor's scorecard."""
    found = await scorecards(db_of(request), [vendor_id])
    if not found:
        raise ApiError(404, "not_found", f"there is no vendor {vendor_id} in the directory")
    return found[0]


def hours_words(hours: float | None) -> str:
    """A median time to answer as a person says it: ``5 hours``, ``2 days``."""
    return "—" if hours is None else clock.duration(timedelta(hours=hours))


def days_words(days: float | None) -> str:
    return "—" if days is None else f"{days:.1f} days"


def share_words(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def against_estimate_words(ratio: float | None) -> str:
    """``on the estimate``, ``12% over``, ``5% under``."""
    if ratio is None:
        return "—"
    off = round((ratio - 1) * 100)
    if off == 0:
        return "on the estimate"
    return f"{abs(off)}% {'over' if off > 0 else 'under'}"


SCORECARD_WORDS: dict[str, Any] = {
    "hours_words": hours_words,
    "days_words": days_words,
    "share_words": share_words,
    "against_estimate_words": against_estimate_words,
    "target_days": TARGET_DAYS,
}
"""What ``_scorecard.html`` needs besides the card: pass these with it."""


@router.get(
    "/maintenance/scorecards",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=VIEWER,
)
async def scorecards_page(request: Request) -> HTMLResponse:
    return dashboard_page(
        request,
        "maintenance/scorecards.html",
        {
            "cards": await scorecards(db_of(request)),
            "vendor_order": settings_of(request).vendor_order,
            **SCORECARD_WORDS,
        },
        section="maintenance",
    )
