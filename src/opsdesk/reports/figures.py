"""What the report says, read where each figure lives: statuses and counts from Temporal
visibility (the dashboards' own computations), money from the ledger, AI use from the log
of every model call."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select
from temporalio.client import Client

from opsdesk.ai.pricing import prices
from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, PayoutRow, RefundRow
from opsdesk.maintenance import listing as maintenance_listing
from opsdesk.maintenance.scorecards import TARGET_DAYS, median_days_to_completion
from opsdesk.maintenance.status import RequestStatus
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.orders import listing as orders_listing
from opsdesk.reports.models import (
    AiFigures,
    DailyReport,
    MaintenanceFigures,
    OrderFigures,
    Period,
    ReportRequest,
)
from opsdesk.reports.store import Reports
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.visibility import count

FIRST_PERIOD = timedelta(days=1)
"""What the first report covers, with no report before it."""


async def compile_report(
    client: Client,
    settings: Settings,
    db: Database,
    report_id: str,
    end: datetime,
    request: ReportRequest,
) -> DailyReport:
    """The report ending at ``end``, covering everything since the last report ended (a
    Monday's covers the weekend; a report after a pause covers the pause)."""
    start = await Reports(db).previous_end(report_id, end) or end - FIRST_PERIOD
    period = Period(start=start, end=end)
    orders, ai, maintenance = await asyncio.gather(
        _orders(client, settings, db, period),
        _ai(db, settings, period),
        _maintenance(client, settings, db, period),
    )
    return DailyReport(
        report_id=report_id,
        period=period,
        zone=request.zone,
        orders=orders,
        ai=ai,
        maintenance=maintenance,
    )


def _between(field: str, period: Period) -> str:
    return f"{field} >= '{period.start.isoformat()}' AND {field} < '{period.end.isoformat()}'"


async def _orders(client: Client, settings: Settings, db: Database, period: Period) -> OrderFigures:
    base = orders_listing.visibility_query(settings)
    now, created = await asyncio.gather(
        orders_listing.order_metrics(client, settings, db),
        count(client, f"{base} AND {_between(sa.ORDER_CREATED.name, period)}"),
    )
    async with db.transaction() as session:
        charged = (
            await session.execute(
                select(ChargeRow.currency, func.count(), func.sum(ChargeRow.amount_cents))
                .where(ChargeRow.created_at >= period.start, ChargeRow.created_at < period.end)
                .group_by(ChargeRow.currency)
            )
        ).all()
        refunded = (
            await session.execute(
                select(ChargeRow.currency, func.count(), func.sum(RefundRow.amount_cents))
                .join(ChargeRow, RefundRow.charge_id == ChargeRow.id)
                .where(RefundRow.created_at >= period.start, RefundRow.created_at < period.end)
                .group_by(ChargeRow.currency)
            )
        ).all()
    return OrderFigures(
        by_status={status.value: n for status, n in now.counts.items()},
        total=now.total,
        created=created,
        waiting_for_a_person=now.waiting_for_a_person,
        open_escalations=now.open_escalations,
        charges=sum(n for _, n, _ in charged),
        revenue_cents={currency: int(cents or 0) for currency, _, cents in charged},
        refunds=sum(n for _, n, _ in refunded),
        refunds_cents={currency: int(cents or 0) for currency, _, cents in refunded},
    )


async def _ai(db: Database, settings: Settings, period: Period) -> AiFigures:
    totals = await UsageLog(db).totals(prices(settings.ai_prices), period.start, period.end)
    return AiFigures(
        calls=totals.calls,
        failed=totals.failed,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        estimated_cost_usd=round(totals.estimated_cost_usd, 6),
        calls_by_task=totals.by_task,
    )


async def _maintenance(
    client: Client, settings: Settings, db: Database, period: Period
) -> MaintenanceFigures:
    base = maintenance_listing.base_query(settings)

    def ended(status: RequestStatus) -> str:
        return f"{base} AND {sa.STATUS.name} = '{status}' AND {_between(sa.UPDATED.name, period)}"

    now, opened, closed, expired = await asyncio.gather(
        maintenance_listing.maintenance_metrics(client, settings, db),
        count(client, f"{base} AND {_between(sa.CREATED.name, period)}"),
        count(client, ended(RequestStatus.CLOSED)),
        count(client, ended(RequestStatus.EXPIRED)),
    )
    async with db.transaction() as session:
        paid = (
            await session.execute(
                select(PayoutRow.currency, func.sum(PayoutRow.amount_cents))
                .where(PayoutRow.created_at >= period.start, PayoutRow.created_at < period.end)
                .group_by(PayoutRow.currency)
            )
        ).all()
    completed = await VendorJobs(db).completed_between(period.start, period.end)
    return MaintenanceFigures(
        by_status={status.value: n for status, n in now.counts.items()},
        open=now.open,
        opened=opened,
        closed=closed,
        expired=expired,
        paid_cents={currency: int(cents or 0) for currency, cents in paid},
        completed=len(completed),
        median_days_to_completion=median_days_to_completion(completed),
        completion_target_days=TARGET_DAYS,
    )
