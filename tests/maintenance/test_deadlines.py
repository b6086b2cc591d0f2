"""Every waiting stage's deadline, crossed on the time-skipping server: the request
expires, everyone involved is told, and the tenant gets a link to report it again. A
vendor's lapse passes the job to the next vendor of the trade instead, and a tenant who
does not confirm the repair within a day is taken to have confirmed it.

The time-skipping server stops skipping once a workflow has started a child while time was
being skipped (temporalio/sdk-java#2392), and every lapse here sends notices through child
workflows. So a test skips days once at most; whatever must lapse after a first lapse has a
deadline of seconds, which passes in real time."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import MaintenancePolicy
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.settings import Settings
from tests.maintenance.helpers import drive_to, maintenance_worker, start
from tests.waiting import eventually

OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"
FLOWRIGHT = "jobs@flowright.example"
BAY_PIPE = "dispatch@baypipe.example"

# Each stage that expires the request when nobody answers, and who must hear of it. (The
# vendor's visit deadline counts from the booked visit: it has a test of its own.)
EXPIRING: dict[Stage, set[str]] = {
    Stage.OWNER_APPROVAL: {TENANT, OWNER},
    Stage.ESTIMATE_APPROVAL: {TENANT, OWNER, FLOWRIGHT},
    Stage.AVAILABILITY: {TENANT, OWNER, FLOWRIGHT},
    Stage.SLOT: {TENANT, OWNER, FLOWRIGHT},
    Stage.INVOICE: {TENANT, OWNER, FLOWRIGHT},
    Stage.INVOICE_APPROVAL: {TENANT, OWNER, FLOWRIGHT},
}
SOON = timedelta(seconds=2)


def lapsing_at(stage: Stage) -> MaintenancePolicy:
    """The default deadlines, but ``stage`` lapses two seconds after it is asked: after a
    first lapse the time-skipping server stops skipping, so the others pass in real time."""
    field = {Stage.AVAILABILITY: "availability", Stage.SLOT: "slot", Stage.INVOICE: "invoice"}
    defaults = MaintenancePolicy()
    if stage is Stage.OWNER_APPROVAL:
        return defaults.model_copy(update={"owner_approval": dict.fromkeys(PRIORITIES, SOON)})
    if stage is Stage.ESTIMATE_APPROVAL:
        return defaults.model_copy(update={"estimate_approval": SOON})
    if stage is Stage.INVOICE_APPROVAL:
        return defaults.model_copy(update={"invoice_approval": SOON})
    return defaults.model_copy(update={field[stage]: SOON})


PRIORITIES = ("emergency", "urgent", "routine")


async def expiry_notices(db: Database, request_id: str, expected: set[str]) -> dict[str, str]:
    """Who was told the request expired, and what they were sent, once ``expected`` (each
    person's notice is a workflow of its own, recorded in its own time) have been told."""

    async def told() -> dict[str, str]:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.reference == request_workflow_id(request_id),
                    OutboxMessage.subject.like("%has expired%")
                    | OutboxMessage.subject.like("Your repair request % has stopped"),
                )
            )
            return {row.to_address: row.body_text for row in rows}

    return await eventually(told, lambda found: expected <= set(found))


async def test_every_stage_deadline_expires_the_request_and_tells_everyone(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    # 400.00 is above the property's 250.00 limit, so the estimate needs the owner.
    async with maintenance_worker(time_env, db, settings):
        handles = {
            stage: await start(time_env.client, settings, policy=lapsing_at(stage))
            for stage in EXPIRING
        }
        await asyncio.gather(*(drive_to(h, stage, quote=40000) for stage, h in handles.items()))
        ends: list[RequestState] = await asyncio.gather(*(h.result() for h in handles.values()))
        told = {
            stage: await expiry_notices(db, state.request_id, EXPIRING[stage])
            for stage, state in zip(handles, ends, strict=True)
        }
    signer = LinkSigner(link_key(settings), settings.resolved_public_url)
    for (stage, people), state in zip(EXPIRING.items(), ends, strict=True):
        assert state.status is RequestStatus.EXPIRED, stage
        assert stage.words in state.ended_reason, state.ended_reason
        lapsed = state.latest(stage)
        assert lapsed is not None
        assert lapsed.lapsed
        assert set(told[stage]) == people, stage
        # The tenant hears what it means for them, not whose answer was missing.
        assert "We have stopped working on your request" in told[stage][TENANT]
        assert "Harbor Lane Holdings" not in told[stage][TENANT].split("Where:")[0]
        # The tenant's email carries a signed link to a form filled in with this request.
        link = re.search(r"/links/([A-Za-z0-9_.-]+)", told[stage][TENANT])
        assert link is not None, told[stage][TENANT]
        grant = signer.verify(link.group(1))
        assert (grant.stage, grant.role, grant.request_id) == (
            "resubmit",
            "tenant",
            state.request_id,
        )


async def test_the_visit_deadline_counts_from_the_booked_visit(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings)
        booked = await drive_to(handle, Stage.WORK_DONE)
        state = await handle.result()
        told = await expiry_notices(db, state.request_id, {TENANT, OWNER, FLOWRIGHT})
    assert booked.slot is not None
    assert booked.question is not None
    assert booked.question.deadline == booked.slot.end + MaintenancePolicy().work_grace
    assert state.status is RequestStatus.EXPIRED
    assert "the work is done" in state.ended_reason
    assert set(told) == {TENANT, OWNER, FLOWRIGHT}


async def test_a_lapsed_quote_goes_to_the_next_vendor_until_none_is_left(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    seconds = dict.fromkeys(PRIORITIES, SOON)
    async with maintenance_worker(time_env, db, settings):
        handle = await start(
            time_env.client, settings, policy=MaintenancePolicy(vendor_quote=seconds)
        )
        await drive_to(handle, Stage.VENDOR_QUOTE)
        state = await handle.result()
        told = await expiry_notices(db, state.request_id, {TENANT, OWNER})
        released = await eventually(
            lambda: _subjects(db, state.request_id, "no longer needs you"),
            lambda found: len(found) == 2,
        )
    assert state.status is RequestStatus.EXPIRED
    assert state.vendors_tried == ["ven-flow", "ven-pipe"]
    quotes = [q for q in state.questions if q.stage is Stage.VENDOR_QUOTE]
    assert [(q.round, q.lapsed, q.asked[0].name) for q in quotes] == [
        (1, True, "FlowRight Plumbing"),
        (2, True, "Bay Pipe & Drain"),
    ]
    assert "no vendor of the trade is left" in state.ended_reason
    events = [entry.event for entry in state.timeline]
    assert "FlowRight Plumbing let the quote lapse: the next vendor of the trade is asked" in events
    # Each vendor heard they are off the job when their quote lapsed; the owner and tenant
    # hear the request expired.
    assert set(told) == {TENANT, OWNER}
    assert set(released) == {FLOWRIGHT, BAY_PIPE}


async def test_an_unanswered_completion_counts_as_confirmed_after_a_day(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    # The invoice is asked for right after the confirmation and lapses a second later.
    policy = MaintenancePolicy(invoice=timedelta(seconds=1))
    async with maintenance_worker(time_env, db, settings):
        handle = await start(time_env.client, settings, policy=policy)
        await drive_to(handle, Stage.COMPLETION)
        state = await handle.result()
    completion = state.latest(Stage.COMPLETION)
    assert completion is not None
    assert completion.lapsed
    assert "Confirmed without the tenant's answer after 24 hours" in [
        entry.event for entry in state.timeline
    ]
    assert state.latest(Stage.INVOICE) is not None
    assert state.status is RequestStatus.EXPIRED


async def _subjects(db: Database, request_id: str, containing: str) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage.to_address).where(
                OutboxMessage.reference == request_workflow_id(request_id),
                OutboxMessage.subject.like(f"%{containing}%"),
            )
        )
        return list(rows)
