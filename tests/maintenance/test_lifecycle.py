"""A request's lifecycle on the time-skipping server: every path to its ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, PayoutRow
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import (
    AvailabilityAnswer,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    QuoteAnswer,
    SlotAnswer,
    WorkDoneAnswer,
)
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import answer, maintenance_worker, start, waiting_for


def visit(days: int = 2) -> tuple[datetime, datetime]:
    day = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days), day + timedelta(days=days, hours=4)


async def outbox(db: Database, reference: str) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.reference == reference)
            .order_by(OutboxMessage.id)
        )
        return [(row.to_address, row.subject) for row in rows]


async def test_a_request_from_report_to_paid_invoice(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)
        assert state.triage is not None
        assert (state.triage.trade, state.triage.emergency) == ("plumber", False)
        await handle.execute_update(
            W.answer_owner_approval, Decision(**answer("Harbor Lane Holdings"), approve=True)
        )
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        assert state.vendor is not None
        assert state.vendor.vendor_id == "ven-flow"
        # Above the property's 250.00 limit: the owner is asked to approve the estimate.
        await handle.execute_update(
            W.answer_vendor_quote, QuoteAnswer(**answer("FlowRight"), amount_cents=32000)
        )
        await waiting_for(handle, Stage.ESTIMATE_APPROVAL)
        await handle.execute_update(
            W.answer_estimate_approval, Decision(**answer("owner"), approve=True)
        )
        await waiting_for(handle, Stage.AVAILABILITY)
        start_at, end_at = visit()
        await handle.execute_update(
            W.answer_availability,
            AvailabilityAnswer(**answer("Sam"), windows=[{"start": start_at, "end": end_at}]),
        )
        await waiting_for(handle, Stage.SLOT)
        slot = {"start": start_at + timedelta(hours=1), "end": start_at + timedelta(hours=2)}
        state = await handle.execute_update(
            W.answer_slot, SlotAnswer(**answer("FlowRight"), slot=slot)
        )
        assert state.status is RequestStatus.IN_PROGRESS
        await handle.execute_update(W.answer_work_done, WorkDoneAnswer(**answer("FlowRight")))
        await waiting_for(handle, Stage.COMPLETION)
        await handle.execute_update(
            W.answer_completion, CompletionAnswer(**answer("Sam"), fixed=True)
        )
        await waiting_for(handle, Stage.INVOICE)
        await handle.execute_update(
            W.answer_invoice, InvoiceAnswer(**answer("FlowRight"), amount_cents=35000)
        )
        state = await waiting_for(handle, Stage.INVOICE_APPROVAL)
        assert (state.approved_cents, state.invoice_cents) == (32000, 35000)
        await handle.execute_update(
            W.answer_invoice_approval, Decision(**answer("owner"), approve=True)
        )
        state = await handle.result()
    assert state.status is RequestStatus.CLOSED
    assert state.payout is not None
    assert state.payout.amount_cents == 35000
    async with db.transaction() as session:
        payouts = (await session.scalars(select(PayoutRow))).all()
    assert [(p.vendor_id, p.amount_cents) for p in payouts] == [("ven-flow", 35000)]
    sent = await outbox(db, handle.id)
    assert ("owner@harborlane.example", f"Approve or decline: request {state.request_id}") in sent
    assert any(to == "sam.rivera@example.com" and "closed" in s for to, s in sent)
