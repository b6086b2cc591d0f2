"""Reports for tests that need one kept."""

from __future__ import annotations

from datetime import datetime

from opsdesk.reports.models import (
    AiFigures,
    DailyReport,
    MaintenanceFigures,
    OrderFigures,
    Period,
)


def empty_report(report_id: str, start: datetime, end: datetime, zone: str = "UTC") -> DailyReport:
    """A report of a quiet period: nothing counted."""
    return DailyReport(
        report_id=report_id,
        period=Period(start=start, end=end),
        zone=zone,
        orders=OrderFigures(
            by_status={}, total=0, created=0, waiting_for_a_person=0, open_escalations=0,
            charges=0, revenue_cents={}, refunds=0, refunds_cents={},
        ),
        ai=AiFigures(
            calls=0, failed=0, input_tokens=0, output_tokens=0, estimated_cost_usd=0.0,
            calls_by_task={},
        ),
        maintenance=MaintenanceFigures(
            by_status={}, open=0, opened=0, closed=0, expired=0, paid_cents={}
        ),
    )  # fmt: skip
