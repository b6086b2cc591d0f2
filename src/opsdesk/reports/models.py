"""The daily report's payloads. No I/O: the workflow imports this module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

COMPILE_REPORT = "compile_report"
KEEP_REPORT = "keep_report"
TEMPLATE = "reports/daily"
"""The report's email template (``reports/emails/daily.j2``), which the page shows too."""


class ReportRequest(BaseModel):
    """What the schedule starts the report with (kept in the schedule's action, so a
    change of settings reaches it when the stack next starts)."""

    recipient: str
    """Who is emailed the report: ``OPSDESK_OPS_EMAIL``."""
    zone: str
    """The business's time zone, for the dates the report shows."""


class Compile(BaseModel):
    """What the report's figures are read for: the report, and when its period ends (when
    its workflow started)."""

    report_id: str
    end: datetime
    request: ReportRequest


class Period(BaseModel):
    start: datetime
    end: datetime


class OrderFigures(BaseModel):
    by_status: dict[str, int]
    """Orders by status now, from visibility."""
    total: int
    created: int
    """Orders started in the period."""
    waiting_for_a_person: int
    open_escalations: int
    charges: int
    revenue_cents: dict[str, int]
    """Captured in the period, per currency, from the ledger."""
    refunds: int
    refunds_cents: dict[str, int]


class AiFigures(BaseModel):
    calls: int
    failed: int
    input_tokens: int
    output_tokens: int
    estimated_cost_usd: float
    calls_by_task: dict[str, int]


class MaintenanceFigures(BaseModel):
    by_status: dict[str, int]
    open: int
    opened: int
    """Requests submitted in the period."""
    closed: int
    """Requests that reached CLOSED (repaired and paid) in the period."""
    expired: int
    """Requests that expired in the period: a deadline passed with nobody left to ask."""
    paid_cents: dict[str, int]
    """Paid to vendors in the period, per currency."""
    completed: int = 0
    """Repairs whose work was confirmed fixed in the period (the vendor jobs kept)."""
    median_days_to_completion: float | None = None
    """Median days from the tenant's report to the work confirmed fixed, over those;
    None when none was completed in the period."""
    completion_target_days: int = 7
    """The industry's target for that median."""


class DailyReport(BaseModel):
    report_id: str
    period: Period
    zone: str
    orders: OrderFigures
    ai: AiFigures
    maintenance: MaintenanceFigures
