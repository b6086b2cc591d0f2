"""The Temporal Schedule that starts the aging run every ``OPSDESK_AGING_EVERY`` (an hour):
Temporal keeps the interval and shows the schedule on its UI's Schedules page, where a
person may pause it (a worker's start keeps the pause)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from opsdesk.maintenance.aging import AGING_WORKFLOW_ID, AgingRun, AgingWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.schedules import ensure_schedule

SCHEDULE_ID = "opsdesk-maintenance-aging"
"""One per namespace, like the daily report's."""
RUN_LIMIT = timedelta(hours=1)
"""Longer than the run's one step may retry; a run past it is ended so the next may start."""


def aging_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            AgingWorkflow.run,
            AgingRun(
                recipient=settings.ops_email,
                zone=settings.business_time_zone,
                thresholds=settings.aging_thresholds,
            ),
            id=AGING_WORKFLOW_ID,
            task_queue=settings.maintenance_task_queue,
            execution_timeout=RUN_LIMIT,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.aging_every)]),
        # A missed run needs no catching up: the next one finds the same requests.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_aging_schedule(
    client: Client, settings: Settings
) -> Literal["created", "updated"]:
    """Create the schedule, or bring it up to the settings (a pause stays)."""
    return await ensure_schedule(client, SCHEDULE_ID, aging_schedule(settings))
