"""A request's lifecycle on the time-skipping server: every path to its ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, PayoutRow
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import (
    AvailabilityAnswer,
    CancelRequest,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    QuoteAnswer,
    ReassignRequest,
    SlotAnswer,
    WorkDoneAnswer,
)
from opsdesk.maintenance.service import AnswerRefused, answer_request
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    BURST,
    answer,
    drive_to,
    maintenance_worker,
    start,
    waiting_for,
)
from tests.waiting import eventually

OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"


def visit() -> tuple[datetime, datetime]:
    """The tenant's window: from an hour before this hour began, so that a visit booked
    an hour into it has started and its work can be marked done."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return start, start + timedelta(hours=4)


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
        # The closing notices go out after the workflow ends (children it leaves running).
        sent = await eventually(
            lambda: outbox(db, handle.id),
            lambda found: any(to == TENANT and "closed" in subject for to, subject in found),
        )
    assert (OWNER, f"Approve or decline: request {state.request_id}") in sent


async def test_an_emergency_skips_the_owner_and_a_quote_within_the_limit_skips_the_estimate(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings, BURST)
        state = await waiting_for(handle, Stage.VENDOR_QUOTE)
        assert state.triage is not None
        assert (state.triage.emergency, state.triage.priority) == (True, "emergency")
        assert state.latest(Stage.OWNER_APPROVAL) is None
        told = await eventually(
            lambda: outbox(db, handle.id),
            lambda found: {OWNER, "ops@opsdesk.local"} <= {to for to, _ in found},
        )
        assert any(subject.startswith("EMERGENCY") for _, subject in told)
        # 200.00 is within 12 Harbor Lane's 250.00: nobody is asked to approve it.
        await handle.execute_update(
            W.answer_vendor_quote, QuoteAnswer(**answer("FlowRight"), amount_cents=20000)
        )
        state = await waiting_for(handle, Stage.AVAILABILITY)
    assert state.latest(Stage.ESTIMATE_APPROVAL) is None
    assert state.approved_cents == 20000
    assert any("within the owner's limit of 250.00 USD" in e.event for e in state.timeline)


async def test_not_fixed_goes_back_to_scheduling_with_the_same_vendor(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        await drive_to(handle, Stage.COMPLETION, quote=20000)
        await handle.execute_update(
            W.answer_completion, CompletionAnswer(**answer("Sam"), fixed=False, note="still drips")
        )
        state = await waiting_for(handle, Stage.AVAILABILITY, round=2)
    assert state.vendor is not None
    assert state.vendor.vendor_id == "ven-flow"
    assert state.vendors_tried == ["ven-flow"]
    assert "Not fixed: back to scheduling with FlowRight Plumbing" in [
        e.event for e in state.timeline
    ]


async def test_the_owner_declines_and_ops_reassign_and_cancel(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        declined = await start(time_env.client, settings)
        await waiting_for(declined, Stage.OWNER_APPROVAL)
        await declined.execute_update(
            W.answer_owner_approval,
            Decision(**answer("Harbor Lane Holdings"), approve=False, note="tenant's own fault"),
        )
        assert (await declined.result()).status is RequestStatus.DECLINED

        moved = await start(time_env.client, settings)
        await drive_to(moved, Stage.AVAILABILITY, quote=20000)
        state = await moved.execute_update(
            W.reassign, ReassignRequest(answer_id="r1", actor="Dana (ops)", vendor_id="ven-fix")
        )
        assert state.vendor is not None
        assert state.vendor.vendor_id == "ven-fix"
        assert state.question is not None
        assert (state.question.stage, state.question.round) == (Stage.VENDOR_QUOTE, 2)
        assert state.quote_cents is None
        # Only a vendor in the directory may take the job.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await moved.execute_update(
                W.reassign, ReassignRequest(answer_id="r2", actor="Dana", vendor_id="ven-nobody")
            )
        assert "no active vendor ven-nobody" in str(refused.value.cause)

        state = await moved.execute_update(
            W.cancel, CancelRequest(answer_id="c1", actor="Dana (ops)", reason="tenant moved out")
        )
        assert state.status is RequestStatus.CANCELLED
        assert (await moved.result()).status is RequestStatus.CANCELLED
        # Everyone involved hears: the tenant, the owner (asked to approve), the new vendor.
        told = await eventually(
            lambda: outbox(db, moved.id),
            lambda found: (
                {TENANT, OWNER, "hello@fixit.example"}
                <= {to for to, subject in found if "was cancelled" in subject}
            ),
        )
        assert any(to == "jobs@flowright.example" and "no longer needs you" in s for to, s in told)
        # After the end, nothing more is taken, and the refusal says why.
        with pytest.raises(
            AnswerRefused,
            match=r"already answered by Harbor Lane Holdings through the API on .*: declined",
        ):
            await answer_request(
                time_env.client,
                (await declined.query(W.get_state)).request_id,
                Stage.OWNER_APPROVAL,
                Decision(**answer("owner"), approve=True),
                wait=timedelta(seconds=10),
            )


async def test_a_cancel_from_temporal_tells_everyone_and_closes_as_cancelled(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        await drive_to(handle, Stage.VENDOR_QUOTE)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        assert isinstance(ended.value.cause, CancelledError)
        state = await handle.query(W.get_state)
        assert state.status is RequestStatus.CANCELLED
        assert state.ended_reason.startswith("Cancelled by temporal")
        await eventually(
            lambda: outbox(db, handle.id),
            lambda found: (
                {TENANT, OWNER, "jobs@flowright.example"}
                <= {to for to, subject in found if "was cancelled" in subject}
            ),
        )
