"""Each preventive job's Temporal Schedule (``preventive-<job id>``): it fires 21 days before
each due date, at 09:00 where the property is, and starts a ``PreventiveRunWorkflow``.

A job every N days is an interval (the server keeps it forever); a job every N months is
a list of calendar dates, laid out ``MONTHS_AHEAD`` ahead and again at each reconcile (a
worker's start), since a month's length varies and 21 days before a month's 1st is not a
fixed day. A reconcile creates missing schedules and updates changed ones, keeping a
person's pause; the dashboard and ``opsdesk schedules`` pause, resume and trigger them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from opsdesk import clock
from opsdesk.db import Database
from opsdesk.maintenance.preventive import PreventiveRunInput, Recurrence
from opsdesk.maintenance.preventive_jobs import JobRow, PreventiveJobs
from opsdesk.maintenance.preventive_workflow import PreventiveRunWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.schedules import ensure_schedule

log = logging.getLogger(__name__)

RUN_LIMIT = timedelta(hours=2)
"""Longer than a run's one step may retry (an hour): a run past it is ended."""
CATCHUP_WINDOW = timedelta(days=2)
"""A run the server missed (it was down) still opens its request within this."""
MONTHS_AHEAD = 120
"""How far ahead a monthly job's dates are laid out (renewed at every worker's start)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def schedule_id(job_id: str) -> str:
    """The job's schedule: ``preventive-<job id>``."""
    return f"preventive-{job_id}"


def run_workflow_id(job_id: str) -> str:
    """Each run's id is this and its time, ``preventive-run-<job id>-2027-02-08T17:00:00Z``."""
    return f"preventive-run-{job_id}"


def job_spec(recurrence: Recurrence, now: datetime) -> ScheduleSpec:
    """When the job's requests open: ``LEAD`` before each due date, at ``RUN_AT`` locally."""
    first = recurrence.opens(recurrence.first_due)
    if recurrence.every_days is not None:
        every = timedelta(days=recurrence.every_days)
        return ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=every, offset=(first - _EPOCH) % every)],
            # One second early: the first opening is itself a run.
            start_at=first - timedelta(seconds=1),
            time_zone_name=recurrence.time_zone,
        )
    dates = [
        recurrence.opens(due)
        for due in recurrence.due_dates(now, count=_count_ahead(recurrence))
        if recurrence.opens(due) >= now
    ]
    return ScheduleSpec(
        calendars=[_on(recurrence, at) for at in dates],
        time_zone_name=recurrence.time_zone,
    )


def _count_ahead(recurrence: Recurrence) -> int:
    assert recurrence.every_months is not None
    # One more than the span holds: the first may already be past opening (then skipped).
    return MONTHS_AHEAD // recurrence.every_months + 1


def _on(recurrence: Recurrence, at: datetime) -> ScheduleCalendarSpec:
    """One calendar entry: the local date and time ``at`` is where the property is."""
    local = at.astimezone(clock.zone_of(recurrence.time_zone))
    return ScheduleCalendarSpec(
        second=[ScheduleRange(local.second)],
        minute=[ScheduleRange(local.minute)],
        hour=[ScheduleRange(local.hour)],
        day_of_month=[ScheduleRange(local.day)],
        month=[ScheduleRange(local.month)],
        year=[ScheduleRange(local.year)],
    )


def job_schedule(job: JobRow, settings: Settings, now: datetime) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PreventiveRunWorkflow.run,
            PreventiveRunInput(job_id=job.id),
            id=run_workflow_id(job.id),
            task_queue=settings.maintenance_task_queue,
            execution_timeout=RUN_LIMIT,
        ),
        spec=job_spec(job.recurrence, now),
        # Two runs at once (a "Run now" beside a scheduled one) open one request between
        # them, so neither is held back.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW
        ),
    )


async def ensure_job_schedule(
    client: Client, settings: Settings, job: JobRow, now: datetime | None = None
) -> Literal["created", "updated"]:
    """Create the job's schedule, or bring it up to the job: ``created`` or ``updated``.
    A pause, and its note, stay as a person left them. A job created after its next
    request was due to open has that request opened at once."""
    now = now or datetime.now(UTC)
    done = await ensure_schedule(client, schedule_id(job.id), job_schedule(job, settings, now))
    recurrence = job.recurrence
    if done == "created" and recurrence.opens(recurrence.next_due(now)) < now:
        await client.get_schedule_handle(schedule_id(job.id)).trigger()
    return done


async def reconcile_schedules(client: Client, settings: Settings, db: Database) -> dict[str, int]:
    """Every job's schedule as the database has the job: how many were created and
    updated. Called at each worker's start, and after a directory import."""
    done = {"created": 0, "updated": 0}
    for job in await PreventiveJobs(db).all():
        done[await ensure_job_schedule(client, settings, job)] += 1
    return done


@dataclass(frozen=True)
class JobStatus:
    """A job as the dashboard lists it."""

    job: JobRow
    scheduled: bool
    """False until a worker's reconcile has made its schedule."""
    paused: bool = False
    note: str = ""
    next_run: datetime | None = None
    next_due: date | None = None


async def job_statuses(client: Client, jobs: list[JobRow]) -> list[JobStatus]:
    """Each job with its schedule's state: paused or not, the next run and its due date."""
    statuses = []
    for job in jobs:
        try:
            described = await client.get_schedule_handle(schedule_id(job.id)).describe()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            statuses.append(JobStatus(job=job, scheduled=False))
            continue
        state = described.schedule.state
        runs = described.info.next_action_times
        next_run = runs[0] if runs else None
        statuses.append(
            JobStatus(
                job=job,
                scheduled=True,
                paused=state.paused,
                note=state.note or "",
                next_run=next_run,
                next_due=job.recurrence.next_due(next_run) if next_run else None,
            )
        )
    return statuses
