"""The reports' JSON API: the daily reports kept, each with its figures, and running one
now (admins). Times are ISO 8601 in UTC; each report names the zone its email used."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from opsdesk.reports.models import DailyReport, Period
from opsdesk.reports.runs import run_message, run_now
from opsdesk.reports.store import KeptReport, Reports
from opsdesk.web.auth import VIEWER, Admin
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError

router = APIRouter(prefix="/api", tags=["reports"])

PAGE_SIZE = 30
REPORT_ID = re.compile(r"^[A-Za-z0-9:._-]{1,200}$")
KEY_MAX_LENGTH = 100


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every refusal's shape."""

    error: ErrorDetail


class ReportSummary(BaseModel):
    report_id: str
    subject: str
    """The email's subject: ``Ops Desk daily report, Mon 7 Dec``."""
    period: Period
    zone: str
    """The time zone the report's email shows times in."""
    page: str
    """The report on the dashboard (a path)."""


class ReportList(BaseModel):
    reports: list[ReportSummary]
    """Newest first."""
    older: str | None = Field(
        description="Pass as ``before`` for the next page; null on the last page."
    )


class ReportOut(DailyReport):
    """A report's figures as its workflow read them, with its subject and page."""

    subject: str
    page: str


class ReportRunOut(BaseModel):
    report_id: str
    started: bool
    """False when this ``Idempotency-Key`` had started the report already."""
    report: str
    """Where the report will be, once kept (``GET`` it: 404 until then)."""
    page: str
    message: str


_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in, and no API token"},
    403: {"model": ErrorOut, "description": "The token's role may not do this"},
}


def page_of(report_id: str) -> str:
    return f"/reports/{report_id}"


async def known_report(request: Request, report_id: str) -> KeptReport:
    """The kept report, or a 404 that says where the list is."""
    found = await Reports(db_of(request)).get(report_id) if REPORT_ID.match(report_id) else None
    if found is None:
        raise ApiError(404, "not_found", f"no report {report_id!r}: the Reports page lists them")
    return found


def _summary(kept: KeptReport) -> ReportSummary:
    return ReportSummary(
        report_id=kept.report_id,
        subject=kept.subject,
        period=kept.report.period,
        zone=kept.report.zone,
        page=page_of(kept.report_id),
    )


@router.get("/reports", dependencies=VIEWER, responses=_REFUSED)
async def list_reports(
    request: Request,
    before: Annotated[
        AwareDatetime | None, Query(description="Only reports that ended before this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = PAGE_SIZE,
) -> ReportList:
    """The daily reports kept, newest first."""
    if before is not None:
        try:
            before = before.astimezone(UTC)
        except OverflowError:
            raise ApiError(422, "invalid_input", "before is out of range") from None
    kept = await Reports(db_of(request)).recent(limit, before)
    older = kept[-1].period_end.isoformat() if len(kept) == limit else None
    return ReportList(reports=[_summary(k) for k in kept], older=older)


@router.get(
    "/reports/{report_id}",
    dependencies=VIEWER,
    responses={**_REFUSED, 404: {"model": ErrorOut, "description": "No such report"}},
)
async def get_report(request: Request, report_id: str) -> ReportOut:
    """One report's figures: orders, AI use and maintenance over its period."""
    kept = await known_report(request, report_id)
    return ReportOut(**kept.report.model_dump(), subject=kept.subject, page=page_of(kept.report_id))


@router.post("/reports/run", status_code=202, responses=_REFUSED)
async def run_report(
    request: Request,
    response: Response,
    _: Admin,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=KEY_MAX_LENGTH,
            description="Repeating a request with the same key runs the report once.",
        ),
    ] = None,
) -> ReportRunOut:
    """Run the daily report now, for the time since the last report (admins only). It is
    kept and emailed like a scheduled one, usually within a minute."""
    run = await run_now(client_of(request), settings_of(request), idempotency_key)
    response.headers["Location"] = f"/api/reports/{run.report_id}"
    return ReportRunOut(
        report_id=run.report_id,
        started=run.started,
        report=f"/api/reports/{run.report_id}",
        page=page_of(run.report_id),
        message=run_message(run, settings_of(request).ops_email),
    )
