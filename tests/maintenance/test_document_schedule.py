"""The documents' reminder schedule on the dev server: a worker's start creates it (then
updates it, keeping a person's pause), it fires every day at 08:00 where the business is,
and a run it starts reminds of a document about to expire."""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import VendorDocumentReminder
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.document_schedule import SCHEDULE_ID, ensure_reminder_schedule
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.waiting import eventually


async def test_a_workers_start_creates_the_daily_schedule_whose_run_sends_reminders(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    # Another test's worker may have made it on this shared server.
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    here = settings.model_copy(update={"business_time_zone": "America/Chicago"})
    document = await VendorDocuments(db).add(
        "ven-volt", "licence", datetime.now(UTC).date() + timedelta(days=7), uploaded_by="ops"
    )
    try:
        assert await ensure_reminder_schedule(client, here) == "created"
        handle = client.get_schedule_handle(SCHEDULE_ID)
        described = await handle.describe()
        chicago = ZoneInfo("America/Chicago")
        runs = [t.astimezone(chicago) for t in described.info.next_action_times[:3]]
        assert [(t.hour, t.minute) for t in runs] == [(8, 0)] * 3
        assert [(b - a).days for a, b in itertools.pairwise(runs)] == [1, 1]

        await handle.pause(note="audit")
        assert await ensure_reminder_schedule(client, here) == "updated"
        assert (await handle.describe()).schedule.state.note == "audit"
        await handle.unpause()

        async with running(build_workers(client, db, here)):
            await handle.trigger()
            described = await eventually(handle.describe, lambda d: d.info.num_actions == 1)
            started = described.info.recent_actions[0].action
            assert isinstance(started, ScheduleActionExecutionStartWorkflow)
            sent = await client.get_workflow_handle(started.workflow_id).result()
        assert sent == 2  # the vendor and ops, 7 days before
        async with db.transaction() as session:
            claims = (await session.scalars(select(VendorDocumentReminder))).all()
        assert {(c.document_id, c.days_before) for c in claims} == {(document.id, 7)}
        assert {c.run_id for c in claims} == {started.workflow_id}
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
