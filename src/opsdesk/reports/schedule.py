"""The Temporal Schedule that starts the daily report: weekdays at ``OPSDESK_REPORT_AT``
(09:00) in ``OPSDESK_BUSINESS_TIME_ZONE``. Temporal keeps the calendar, daylight-saving
changes included, and shows the schedule on its UI's Schedules page."""

from __future__ import annotations

import logging
from datetime import timedelta

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

from opsdesk.reports.models import ReportRequest
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.schedules import ensure_schedule

log = logging.getLogger(__name__)

SCHEDULE_ID = "opsdesk-daily-report"
"""One per namespace: two deployments of Ops Desk sharing a namespace would share it."""
REPORT_WORKFLOW_ID = "daily-report"
"""Each run's id is this and its scheduled time, ``daily-report-2026-12-02T14:00:00Z``."""

RUN_LIMIT = timedelta(hours=6)
"""Longer than a run's steps may retry (an hour each); a run past it is ended so the next
one may start (the schedule skips a run while the last is still going)."""

CATCHUP_WINDOW = timedelta(hours=6)
"""A report the server missed (it was down at 09:00) still runs if it comes back within
this; a later one is skipped, and the next report covers the gap."""


def report_spec(settings: Settings) -> ScheduleSpec:
    """Monday to Friday (Temporal counts Sunday as 0) at the report's local time."""
    at = settings.report_at
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=[ScheduleRange(at.second)],
                minute=[ScheduleRange(at.minute)],
                hour=[ScheduleRange(at.hour)],
                day_of_week=[ScheduleRange(1, 5)],
                comment="weekdays",
            )
        ],
        time_zone_name=settings.business_time_zone,
    )


def report_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DailyReportWorkflow.run,
            ReportRequest(recipient=settings.ops_email, zone=settings.business_time_zone),
            id=REPORT_WORKFLOW_ID,
            task_queue=settings.orders_task_queue,
            # A run stuck on a broken workflow task would otherwise skip every later run.
            execution_timeout=RUN_LIMIT,
        ),
        spec=report_spec(settings),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


async def ensure_report_schedule(client: Client, settings: Settings) -> str:
    """Create the schedule, or bring it up to the settings: ``created`` or ``updated``.
    Safe to call from every worker at every start. A pause, and its note, stay as a person
    left them."""
    return await ensure_schedule(client, SCHEDULE_ID, report_schedule(settings))
