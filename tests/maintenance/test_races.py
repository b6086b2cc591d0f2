"""Repair requests when things happen at once or go wrong: an answer and a cancel in one
workflow task, a step that gives up, a vendor who marks the work done before the visit,
office hours decided away from workflow code."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, Owner
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import (
    AvailabilityAnswer,
    CancelRequest,
    Decision,
    MaintenancePolicy,
    QuoteAnswer,
    SlotAnswer,
    WorkDoneAnswer,
)
from opsdesk.maintenance.state import VendorFacts
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import (
    answer,
    drive_to,
    maintenance_worker,
    maintenance_worker_with,
    start,
    waiting_for,
)
from tests.maintenance.test_phone import outside_office_hours
from tests.together import Together
from tests.waiting import eventually

OPS = "ops@opsdesk.local"
TENANT = "sam.rivera@example.com"


def refused(outcome: BaseException) -> tuple[str, str]:
    assert isinstance(outcome, WorkflowUpdateFailedError), outcome
    cause = outcome.cause
    assert isinstance(cause, ApplicationError)
    return cause.type or "", cause.message


async def _subjects(db: Database, request_id: str) -> dict[str, list[str]]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.reference == request_workflow_id(request_id))
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.to_address, []).append(row.subject)
        return found


class DirectoryDown(Directory):
    """A directory that fails for good once the request looks for a vendor: what the
    step's own five minutes of retries come to, without waiting them out (the
    time-skipping server does not skip an activity's retries)."""

    async def next_vendor(self, trade: str, exclude: Sequence[str]) -> VendorFacts | None:
        raise ApplicationError("the directory is not answering", non_retryable=True)


async def test_a_step_that_gives_up_ends_the_request_visibly_and_tells_people(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker_with(time_env, db, settings, directory=DirectoryDown(db)):
        handle = await start(time_env.client, settings)
        await drive_to(handle, Stage.OWNER_APPROVAL)
        await handle.execute_update(
            W.answer_owner_approval, Decision(**answer("owner"), approve=True)
        )
        state = await handle.result()
        told = await eventually(
            lambda: _subjects(db, state.request_id),
            lambda found: OPS in found and any("team" in s for s in found.get(TENANT, [])),
        )

    assert state.status is RequestStatus.FAILED
    assert "the directory is not answering" in state.ended_reason
    assert state.question is None
    assert any("needs a person" in subject for subject in told[OPS])


async def test_an_answer_and_a_cancel_in_one_task_the_answer_first_counts(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(dev_env, db, settings):
        handle = await start(dev_env.client, settings)
        await drive_to(handle, Stage.VENDOR_QUOTE)
    together = Together(dev_env.client, handle.id)
    quote = QuoteAnswer(**answer("FlowRight", "email"), amount_cents=18000)
    cancel = CancelRequest(answer_id=uuid.uuid4().hex, actor="maria", reason="duplicate")
    await together.update(
        quote.answer_id, lambda id: handle.execute_update(W.answer_vendor_quote, quote, id=id)
    )
    await together.update(
        cancel.answer_id, lambda id: handle.execute_update(W.cancel, cancel, id=id)
    )
    async with maintenance_worker(dev_env, db, settings):
        quoted, cancelled = await together.results()
        final = await handle.result()

    # The quote was taken and acted on; the cancel came right after it.
    assert not isinstance(quoted, BaseException), quoted
    assert final.quote_cents == 18000
    assert cancelled.status is RequestStatus.CANCELLED
    assert final.status is RequestStatus.CANCELLED
    events = [entry.event for entry in final.timeline]
    assert any("quoted" in event for event in events)


async def test_an_answer_after_a_cancel_in_one_task_is_refused(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(dev_env, db, settings):
        handle = await start(dev_env.client, settings)
        await drive_to(handle, Stage.VENDOR_QUOTE)
    together = Together(dev_env.client, handle.id)
    quote = QuoteAnswer(**answer("FlowRight", "email"), amount_cents=18000)
    cancel = CancelRequest(answer_id=uuid.uuid4().hex, actor="maria", reason="duplicate")
    await together.update(
        cancel.answer_id, lambda id: handle.execute_update(W.cancel, cancel, id=id)
    )
    await together.update(
        quote.answer_id, lambda id: handle.execute_update(W.answer_vendor_quote, quote, id=id)
    )
    async with maintenance_worker(dev_env, db, settings):
        cancelled, quoted = await together.results()
        final = await handle.result()

    assert cancelled.status is RequestStatus.CANCELLED
    kind, message = refused(quoted)
    assert kind == "NotWaiting"
    assert "being cancelled" in message
    assert final.quote_cents is None
    assert not any("quoted" in entry.event for entry in final.timeline)


async def test_work_cannot_be_marked_done_before_the_visit_and_the_tenant_is_asked_after_it(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    visit_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    window = {"start": visit_start, "end": visit_start + timedelta(hours=2)}
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        await drive_to(handle, Stage.AVAILABILITY)
        await handle.execute_update(
            W.answer_availability, AvailabilityAnswer(**answer("Sam"), windows=[window])
        )
        await waiting_for(handle, Stage.SLOT)
        await handle.execute_update(W.answer_slot, SlotAnswer(**answer("FlowRight"), slot=window))
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await handle.execute_update(W.answer_work_done, WorkDoneAnswer(**answer("FlowRight")))
        assert refused(early.value)[1].startswith("the booked visit has not started yet")

        await time_env.sleep(timedelta(days=3, minutes=30))  # the visit is under way
        await handle.execute_update(W.answer_work_done, WorkDoneAnswer(**answer("FlowRight")))
        asked = await waiting_for(handle, Stage.COMPLETION)

    assert asked.question is not None
    assert asked.question.deadline == window["end"] + MaintenancePolicy().completion
    assert asked.payout is None


async def test_office_hours_are_decided_by_an_activity(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with db.transaction() as session:
        owner = await session.get(Owner, "own-harbor")
        assert owner is not None
        owner.calls = "call_only_after_hours"
    start_at, end_at = outside_office_hours("America/Los_Angeles")
    after_hours = settings.model_copy(
        update={"office_hours_start": start_at, "office_hours_end": end_at}
    )
    async with maintenance_worker(dev_env, db, after_hours):
        handle = await start(
            dev_env.client,
            after_hours,
            policy=MaintenancePolicy(office_hours=(start_at, end_at)),
        )
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)
        events = (await handle.fetch_history()).events

    assert state.question is not None
    assert [a.channel for a in state.question.asked] == ["phone"]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "in_office_hours" in scheduled
