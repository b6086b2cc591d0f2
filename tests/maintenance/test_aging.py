"""Requests that age, on the dev server (visibility as on a real cluster): the aging run
emails ops once per request and threshold, never about a request that has ended, and the
worker keeps its Schedule (a person's pause stays)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.aging import AgingRun, AgingWorkflow
from opsdesk.maintenance.aging_schedule import SCHEDULE_ID, ensure_aging_schedule
from opsdesk.maintenance.aging_views import aging_groups
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import CancelRequest
from opsdesk.maintenance.listing import RequestFilter, list_requests
from opsdesk.maintenance.payloads import AgingResult
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow as W
from opsdesk.settings import Settings
from tests.maintenance.helpers import maintenance_worker, start, waiting_for
from tests.waiting import eventually


async def _subjects(db: Database) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.to_address == "ops@opsdesk.local")
            .where(OutboxMessage.subject.contains("has been open"))
        )
        return sorted(rows.all())


async def test_ops_hear_of_each_threshold_once_and_never_of_an_ended_request(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = dev_env.client
    async with maintenance_worker(dev_env, db, settings):
        kept, ended = (await start(client, settings)), (await start(client, settings))
        first = await waiting_for(kept, Stage.OWNER_APPROVAL)
        await waiting_for(ended, Stage.OWNER_APPROVAL)
        ids = sorted([kept.id.removeprefix("maintenance-"), ended.id.removeprefix("maintenance-")])
        # Visibility catches up with the starts (and their rows) a moment later.
        await eventually(
            lambda: list_requests(client, settings, RequestFilter(open_only=True)),
            lambda page: sorted(r.request_id for r in page.items if r.stage) == ids,
        )

        async def aged(days: float) -> AgingResult:
            run = AgingRun(
                recipient=settings.ops_email,
                zone="UTC",
                thresholds=settings.aging_thresholds,
                now=first.created_at + timedelta(days=days),
            )
            return await client.execute_workflow(
                AgingWorkflow.run,
                run,
                id=f"aging-test-{uuid.uuid4().hex[:8]}",
                task_queue=settings.maintenance_task_queue,
            )

        def told(result: AgingResult) -> list[tuple[str, int]]:
            return sorted((a.row.request_id, a.threshold_days) for a in result.alerts)

        assert told(await aged(2.9)) == []
        assert told(await aged(3.1)) == [(ids[0], 3), (ids[1], 3)]
        assert told(await aged(6)) == []  # told about 3 days already
        await ended.execute_update(
            W.cancel, CancelRequest(answer_id="stop", actor="Dana (ops)", reason="moved out")
        )
        await eventually(
            lambda: list_requests(client, settings, RequestFilter(open_only=True)),
            lambda page: (
                [r.request_id for r in page.items] == [kept.id.removeprefix("maintenance-")]
            ),
        )
        request_id = kept.id.removeprefix("maintenance-")
        # The aging view groups it by the highest limit it has passed.
        groups, more = await aging_groups(client, settings, first.created_at + timedelta(days=8))
        assert [(g.days, [r.request_id for r in g.rows]) for g in groups] == [
            (14, []),
            (7, [request_id]),
            (3, []),
        ]
        assert not more
        assert told(await aged(7.5)) == [(request_id, 7)]
        # Past two limits at once (the schedule was paused): one email, the highest.
        assert told(await aged(30)) == [(request_id, 14)]
        assert told(await aged(31)) == []
        subjects = await eventually(lambda: _subjects(db), lambda found: len(found) == 4)
    assert subjects == sorted(
        [
            f"Request {ids[0]} has been open 3 days",
            f"Request {ids[1]} has been open 3 days",
            f"Request {request_id} has been open 7 days",
            f"Request {request_id} has been open 14 days",
        ]
    )


async def test_a_workers_start_keeps_the_aging_schedule_and_its_pause(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    try:
        assert await ensure_aging_schedule(client, settings) == "created"
        handle = client.get_schedule_handle(SCHEDULE_ID)
        described = await handle.describe()
        [interval] = described.schedule.spec.intervals
        assert interval.every == timedelta(hours=1)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == AgingWorkflow.__name__
        await handle.pause(note="audit week")
        later = settings.model_copy(update={"aging_every": timedelta(minutes=30)})
        assert await ensure_aging_schedule(client, later) == "updated"
        described = await handle.describe()
        assert described.schedule.state.paused
        assert described.schedule.state.note == "audit week"
        assert described.schedule.spec.intervals[0].every == timedelta(minutes=30)
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
