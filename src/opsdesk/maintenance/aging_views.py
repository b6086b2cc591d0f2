"""The aging view: open requests by how long they have been open (3+, 7+, 14+ days, as
``OPSDESK_AGING_THRESHOLDS`` say), oldest first. One visibility list query, rows from the
requests' memos: no workflow is queried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from temporalio.client import Client

from opsdesk import clock
from opsdesk.maintenance.aging_alerts import aged_query
from opsdesk.maintenance.listing import row_of
from opsdesk.maintenance.progress import stage_words, status_words
from opsdesk.maintenance.state import RequestRow
from opsdesk.settings import Settings
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import client_of, settings_of
from opsdesk.web.pages import dashboard_page, reader_zone

router = APIRouter()

MOST_SHOWN = 500
"""How many open requests the view reads at most."""


class AgeGroup(BaseModel):
    days: int
    """Open at least this many days (and less than the next group's)."""
    rows: list[RequestRow]


async def aging_groups(
    client: Client, settings: Settings, now: datetime
) -> tuple[list[AgeGroup], bool]:
    """Open requests past the lowest threshold, grouped by the highest threshold each has
    passed, oldest group first and oldest first within it; and whether there were more than
    the view reads."""
    thresholds = sorted(set(settings.aging_thresholds), reverse=True)
    before = (now - timedelta(days=thresholds[-1])).isoformat()
    rows: list[RequestRow] = []
    more = False
    async for execution in client.list_workflows(aged_query(settings, before), page_size=100):
        if len(rows) >= MOST_SHOWN:
            more = True
            break
        row = await row_of(execution)
        if row is not None and not row.status.terminal:
            rows.append(row)
    rows.sort(key=lambda r: r.created_at)
    groups = [AgeGroup(days=days, rows=[]) for days in thresholds]
    for row in rows:
        for group in groups:
            if row.created_at <= now - timedelta(days=group.days):
                group.rows.append(row)
                break
    return groups, more


@router.get(
    "/maintenance/aging",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=VIEWER,
)
async def aging_page(request: Request) -> HTMLResponse:
    now = datetime.now(UTC)
    groups, more = await aging_groups(client_of(request), settings_of(request), now)
    zone = reader_zone(request)
    return dashboard_page(
        request,
        "maintenance/aging.html",
        {
            "groups": groups,
            "more": more,
            "most_shown": MOST_SHOWN,
            "open_for": lambda at: clock.duration(now - at),
            "reported": lambda at: clock.moment(at, zone, named=False),
            "status_words": status_words,
            "stage_words": stage_words,
        },
        section="maintenance",
    )
