"""The daily report's figures against a known set of orders, ledger rows, model calls and
payouts: what falls in its period counts, what came before the last report does not; the
report is kept for the Reports page and emailed to ops with its chart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import AiCall, ChargeRow, OutboxMessage, PayoutRow, RefundRow, VendorJob
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.inputs import MaintenancePolicy
from opsdesk.maintenance.listing import base_query
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.notify.models import EmailContent
from opsdesk.orders.inputs import CancelRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.listing import visibility_query
from opsdesk.orders.service import cancel_order, start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.reports.models import ReportRequest
from opsdesk.reports.store import Reports
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.visibility import count
from tests.maintenance.helpers import drive_to, start
from tests.orders.factory import order_request
from tests.orders.helpers import order_worker, served_api, wait_for_status
from tests.reports.factory import empty_report
from tests.waiting import eventually

ZONE = "America/New_York"
QUICKLY = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))


async def _records(db: Database, last_report_end: datetime) -> None:
    """Rows on both sides of the last report's end: only the later ones count."""
    before, after = last_report_end - timedelta(hours=1), last_report_end + timedelta(minutes=5)
    async with db.transaction() as session:
        for n, (at, cents) in enumerate([(before, 99900), (after, 5000)]):
            session.add(
                ChargeRow(
                    id=f"ch_known{n}",
                    idempotency_key=f"known-charge-{n}",
                    order_id=f"known{n}",
                    customer_id="c",
                    amount_cents=cents,
                    currency="EUR",
                    payment_token="tok_visa",
                    created_at=at,
                )
            )
        await session.flush()
        session.add(
            RefundRow(
                id="re_known", idempotency_key="known-refund", charge_id="ch_known1",
                amount_cents=2000, created_at=after,
            )
        )  # fmt: skip
        for n, (at, outcome) in enumerate([(before, "ok"), (after, "ok"), (after, "error")]):
            session.add(
                AiCall(
                    reference=f"order-known{n}", task="triage", provider="anthropic",
                    model="claude-haiku-4-5", input_tokens=1000, output_tokens=200,
                    outcome=outcome, created_at=at,
                )
            )  # fmt: skip
        for n, (at, cents) in enumerate([(before, 70000), (after, 32000)]):
            session.add(
                PayoutRow(
                    id=f"po_known{n}", idempotency_key=f"known-payout-{n}", request_id=f"MR-{n}",
                    vendor_id="ven-flow", amount_cents=cents, currency="USD", created_at=at,
                )
            )  # fmt: skip
        # Repairs completed 4 and 12 days after their report in the period, 2 days before it.
        for n, (completed, days) in enumerate([(before, 2), (after, 4), (after, 12)]):
            session.add(
                VendorJob(
                    request_id=f"MR-done-{n}", vendor_id="ven-flow", property_id="harbor-12",
                    reported_at=completed - timedelta(days=days), completed_at=completed,
                    currency="USD", ending="CLOSED", ended_at=completed,
                )
            )  # fmt: skip


async def test_the_report_counts_its_period_and_is_kept_and_emailed(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    last_end = datetime.now(UTC) - timedelta(hours=2)
    earlier = empty_report("daily-report-earlier", last_end - timedelta(days=1), last_end)
    await Reports(db).keep(earlier, EmailContent(subject="earlier", text="", html="<p>x</p>"))
    await _records(db, last_end)
    client = dev_env.client
    async with order_worker(dev_env, db, settings):
        kept = await start_order(
            client, settings, order_request([LineItem(sku="MUG-01", quantity=1)])
        )
        dropped_request = order_request([LineItem(sku="MUG-01", quantity=2)])
        dropped = await start_order(client, settings, dropped_request)
        await wait_for_status(kept, OrderStatus.CONFIRMED)
        await wait_for_status(dropped, OrderStatus.CONFIRMED)
        await cancel_order(
            client, dropped_request.order_id, CancelRequest(), wait=timedelta(seconds=30)
        )
        await wait_for_status(dropped, OrderStatus.CANCELLED)
        # A repair request whose plumbers both let the quote lapse: it expires.
        await Directory(db).import_directory(sample_directory())
        repair = await start(client, settings, policy=MaintenancePolicy(vendor_quote=QUICKLY))
        await drive_to(repair, Stage.VENDOR_QUOTE)
        assert (await repair.result()).status is RequestStatus.EXPIRED

        # Visibility catches up within a second or so; the report reads it as it is.
        cancelled = f"{visibility_query(settings)} AND OrderStatus = 'CANCELLED'"
        await eventually(lambda: count(client, cancelled), lambda n: n == 1)
        expired = f"{base_query(settings)} AND OrderStatus = 'EXPIRED'"
        await eventually(lambda: count(client, expired), lambda n: n == 1)
        report = await client.execute_workflow(
            DailyReportWorkflow.run,
            ReportRequest(recipient="ops@opsdesk.local", zone=ZONE),
            id=f"daily-report-{uuid.uuid4().hex[:8]}",
            task_queue=settings.orders_task_queue,
        )

        assert report.period.start == last_end
        orders = report.orders
        assert (orders.total, orders.created) == (2, 2)
        assert orders.by_status["CONFIRMED"] == 1
        # The two real orders' charges (18.00 and 36.00) and the later known one; not the
        # one before the last report.
        assert orders.charges == 3
        assert orders.revenue_cents == {"USD": 1800 + 3600, "EUR": 5000}
        assert orders.refunds == 2
        assert orders.refunds_cents == {"USD": 3600, "EUR": 2000}
        assert report.ai.calls_by_task == {"triage": 2}
        assert (report.ai.calls, report.ai.failed) == (2, 1)
        assert report.ai.estimated_cost_usd == pytest.approx(2 * (1000 * 1 + 200 * 5) / 1e6)
        maintenance = report.maintenance
        assert (maintenance.opened, maintenance.expired, maintenance.closed) == (1, 1, 0)
        assert (maintenance.by_status["EXPIRED"], maintenance.open) == (1, 0)
        assert maintenance.paid_cents == {"USD": 32000}
        assert (maintenance.completed, maintenance.median_days_to_completion) == (2, 8.0)
        assert maintenance.completion_target_days == 7
        assert report.zone == ZONE

        page = await Reports(db).get(report.report_id)
        assert page is not None
        assert "\u2588" in page.html  # the chart
        assert "CONFIRMED" in page.html

        async def emailed() -> list[OutboxMessage]:
            async with db.transaction() as session:
                return list(
                    await session.scalars(
                        select(OutboxMessage).where(OutboxMessage.reference == report.report_id)
                    )
                )

        [mail] = await eventually(emailed, lambda found: len(found) == 1)
    assert mail.to_address == "ops@opsdesk.local"
    assert mail.subject.startswith("Ops Desk daily report, ")
    assert "54.00 USD, 50.00 EUR" in mail.body_text or "50.00 EUR, 54.00 USD" in mail.body_text
    assert "\u2588" in mail.body_html
    assert (
        "Days from report to completion: 8.0 (median of 2 repairs completed), against the "
        "industry's target of 7 days: over it." in mail.body_text
    )


async def test_the_reports_pages_refuse_what_they_cannot_read(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        html = {"Accept": "text/html"}
        for before in ("2026-01-01", "yesterday", "0001-01-01T00:00:00+14:00"):
            answer = await site.get("/reports", params={"before": before}, headers=html)
            assert answer.status_code == 422, (before, answer.text)
            assert "text/html" in answer.headers["content-type"]
        assert (await site.get("/reports/%00", headers=html)).status_code == 404
        assert (await site.get("/reports/" + "x" * 300, headers=html)).status_code == 404
        listed = await site.get("/reports", params={"before": "2026-01-01T00:00:00Z"})
        assert listed.status_code == 200
        assert "No reports yet" in listed.text
