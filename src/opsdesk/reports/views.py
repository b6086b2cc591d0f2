"""The dashboard's Reports page: every daily report kept, newest first, a button for
admins that runs one now, and each report with its figures drawn as charts."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AwareDatetime

from opsdesk.access.roles import Identity, Role
from opsdesk.reports.api import PAGE_SIZE, known_report
from opsdesk.reports.chart import BarChart, bar_chart
from opsdesk.reports.models import DailyReport
from opsdesk.reports.runs import run_message, run_now
from opsdesk.reports.store import Reports
from opsdesk.web.auth import VIEWER, Admin
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.forms import read_form
from opsdesk.web.navigation import NOTICE_COOKIE, Notice, read_notice, redirect_with
from opsdesk.web.pages import templates

router = APIRouter(include_in_schema=False, dependencies=VIEWER)

KEY_MAX_LENGTH = 100


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"section": "reports", **context})


def _is_admin(request: Request) -> bool:
    """Whether to show the "Run now" button: only admins may run a report."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity is not None and identity.role.allows(Role.ADMIN)


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
    notice = read_notice(request)
    response = _render(
        request,
        "reports/list.html",
        reports=kept,
        older=older,
        paged=before,
        notice=notice,
        can_run=_is_admin(request),
        recipient=settings_of(request).ops_email,
    )
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")  # shown here, so used up
    return response


@router.post("/reports/run")
async def run_report(request: Request, _: Admin) -> RedirectResponse:
    """The "Run now" button: once per form (its idempotency key), back to the list."""
    fields = await read_form(request)
    key = fields.get("idempotency_key", "").strip()[:KEY_MAX_LENGTH] or None
    run = await run_now(client_of(request), settings_of(request), key)
    return redirect_with("/reports", Notice("ok", run_message(run, settings_of(request).ops_email)))


def charts(report: DailyReport) -> dict[str, BarChart]:
    """The report page's charts: orders and requests by status now, AI calls by task."""
    orders, maintenance, ai = report.orders, report.maintenance, report.ai
    return {
        "orders": bar_chart("orders-chart", "Orders by status now", "Orders", orders.by_status),
        "maintenance": bar_chart(
            "maintenance-chart", "Repair requests by status now", "Requests", maintenance.by_status
        ),
        "ai": bar_chart("ai-chart", "AI calls in the period, by task", "Calls", ai.calls_by_task),
    }


@router.get("/reports/{report_id}", response_class=HTMLResponse)
async def report_page(request: Request, report_id: str) -> HTMLResponse:
    kept = await known_report(request, report_id)
    return _render(
        request, "reports/detail.html", kept=kept, r=kept.report, charts=charts(kept.report)
    )
