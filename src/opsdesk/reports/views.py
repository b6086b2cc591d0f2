"""The dashboard's Reports page: every daily report kept, newest first, and each one as
its email showed it."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime

from opsdesk.notify.compose import local_date, local_time
from opsdesk.reports.store import Reports
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import db_of
from opsdesk.web.errors import ApiError
from opsdesk.web.pages import templates

router = APIRouter(include_in_schema=False, dependencies=VIEWER)

PAGE_SIZE = 30
_REPORT_ID = re.compile(r"^[A-Za-z0-9:._-]{1,200}$")


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"section": "reports", "local_date": local_date, "local_time": local_time, **context},
    )


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, before: Annotated[AwareDatetime | None, Query()] = None
) -> HTMLResponse:
    if before is not None:
        try:
            before = before.astimezone(UTC)
        except OverflowError:
            raise ApiError(422, "invalid_input", "before is out of range") from None
    kept = await Reports(db_of(request)).recent(PAGE_SIZE, before)
    older = kept[-1].period_end.isoformat() if len(kept) == PAGE_SIZE else None
    return _render(request, "reports/list.html", reports=kept, older=older, paged=before)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
async def report_page(request: Request, report_id: str) -> HTMLResponse:
    kept = await Reports(db_of(request)).get(report_id) if _REPORT_ID.match(report_id) else None
    if kept is None:
        raise ApiError(404, "not_found", f"no report {report_id!r}")
    return _render(request, "reports/detail.html", kept=kept)
