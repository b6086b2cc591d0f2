"""The Temporal Schedule that starts the documents' expiry reminders every day at
``REMIND_AT`` in ``OPSDESK_BUSINESS_TIME_ZONE``; Temporal keeps the calendar and shows it on
its UI's Schedules page, where a person may pause it (a worker's start keeps the pause)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)

from opsdesk.maintenance.document_reminders import REMINDERS_WORKFLOW_ID, DocumentRemindersWorkflow
from opsdesk.maintenance.payloads import ReminderRequest
from opsdesk.settings import Settings
from opsdesk.temporal.schedules import ensure_schedule

SCHEDULE_ID = "opsdesk-vendor-document-reminders"
"""One per namespace, like the daily report's."""
REMIND_AT = time(8, 0)
"""Early in the business's day, so ops read the reminders with the day's work."""
RUN_LIMIT = timedelta(hours=2)
"""Longer than the run's one step may retry; a run past it is ended so the next may start."""
CATCHUP_WINDOW = timedelta(days=1)
"""A run the server missed still happens when it is back within a day: reminders are owed
whenever they are late, and the claims keep a late one from being sent twice."""


def reminder_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DocumentRemindersWorkflow.run,
            ReminderRequest(ops_email=settings.ops_email, zone=settings.business_time_zone),
            id=REMINDERS_WORKFLOW_ID,
            task_queue=settings.maintenance_task_queue,
            execution_timeout=RUN_LIMIT,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(REMIND_AT.minute)],
                    hour=[ScheduleRange(REMIND_AT.hour)],
                    comment="every day",
                )
            ],
            time_zone_name=settings.business_time_zone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


async def ensure_reminder_schedule(
    client: Client, settings: Settings
) -> Literal["created", "updated"]:
    """Create the schedule, or bring it up to the settings (a pause stays)."""
    return await ensure_schedule(client, SCHEDULE_ID, reminder_schedule(settings))
