"""The dashboard's Preventive maintenance page (``/maintenance/preventive``): each job with
its property, how often it recurs, its next run and the due date that run is for, paused or
not, and the buttons that pause, resume or run a job's schedule now (operators).

Each button is a plain post that answers 303 back to the page with one line of notice; a
refusal (a job that does not exist, a schedule not made yet, Temporal out of reach) is
that line, never an error page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.maintenance.preventive import LEAD, due_words, run_words
from opsdesk.maintenance.preventive_jobs import JobRow, PreventiveJobs
from opsdesk.maintenance.preventive_schedules import (
    JobStatus,
    job_statuses,
    reconcile_schedules,
    schedule_id,
)
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.navigation import Notice, redirect_with
from opsdesk.web.pages import dashboard_page

router = APIRouter(include_in_schema=False, dependencies=VIEWER)

PAGE = "/maintenance/preventive"
UNREACHABLE = (
    "Temporal did not answer, so the schedules cannot be read or changed just now. "
    "Try again in a minute."
)


async def property_jobs(request: Request, property_id: str) -> tuple[list[JobStatus], bool]:
    """A property's preventive jobs, by title, each with its schedule's state, for the
    property's page; and whether Temporal was out of reach (then no job is scheduled)."""
    return await _statuses(request, await PreventiveJobs(db_of(request)).for_property(property_id))


async def _statuses(request: Request, jobs: list[JobRow]) -> tuple[list[JobStatus], bool]:
    # A page still lists the jobs when Temporal does not answer; it says so instead.
    try:
        return await job_statuses(client_of(request), jobs), False
    except RPCError:
        return [JobStatus(job=job, scheduled=False) for job in jobs], True


@router.get(PAGE, response_class=HTMLResponse)
async def preventive_page(request: Request) -> HTMLResponse:
    statuses, unreachable = await _statuses(request, await PreventiveJobs(db_of(request)).all())
    return dashboard_page(
        request,
        "maintenance/preventive.html",
        {
            "statuses": statuses,
            "unreachable": unreachable,
            "lead_days": LEAD.days,
            "due_day": due_words,
            "run_time": run_words,
        },
        section="maintenance",
        notice=Notice("error", UNREACHABLE) if unreachable else None,
    )


@router.post(PAGE + "/schedules")
async def sync_schedules(request: Request, _: Operator) -> RedirectResponse:
    """Bring every job's schedule up to the database now, as a worker's start does: after
    a directory import, without restarting the worker."""
    try:
        done = await reconcile_schedules(client_of(request), settings_of(request), db_of(request))
    except RPCError:
        return redirect_with(PAGE, Notice("error", UNREACHABLE))
    made, updated = done["created"], done["updated"]
    return redirect_with(
        PAGE,
        Notice(
            "ok",
            f"Schedules brought up to date: {made} new, {updated} checked. A new job whose "
            "next request was due to open already has it opened now.",
        ),
    )


@router.post(PAGE + "/{job_id}/pause")
async def pause_job(request: Request, job_id: str, who: Operator) -> RedirectResponse:
    async def pause(job: JobRow) -> str:
        await (
            client_of(request)
            .get_schedule_handle(schedule_id(job.id))
            .pause(note=f"Paused by {who.name} on the dashboard")
        )
        return f"{job.title} at {job.property_name} is paused: it opens no request until resumed."

    return await _act(request, job_id, pause)


@router.post(PAGE + "/{job_id}/resume")
async def resume_job(request: Request, job_id: str, who: Operator) -> RedirectResponse:
    async def resume(job: JobRow) -> str:
        await (
            client_of(request)
            .get_schedule_handle(schedule_id(job.id))
            .unpause(note=f"Resumed by {who.name} on the dashboard")
        )
        return (
            f"{job.title} at {job.property_name} is running again: each request opens "
            f"{LEAD.days} days before its due date."
        )

    return await _act(request, job_id, resume)


@router.post(PAGE + "/{job_id}/run")
async def run_job(request: Request, job_id: str, _: Operator) -> RedirectResponse:
    """Open the request for the job's next due date now; a second press opens no other."""

    async def run(job: JobRow) -> str:
        due = job.recurrence.next_due(datetime.now(UTC))
        when = due_words(due, job.time_zone)
        opened = await PreventiveJobs(db_of(request)).opened(job.id, due)
        if opened is not None:
            return f"The request for {job.title} due {when} is already open: {opened}."
        await client_of(request).get_schedule_handle(schedule_id(job.id)).trigger()
        return (
            f"The request for {job.title} due {when} is being opened now; it shows in the "
            "list of repair requests within a minute."
        )

    return await _act(request, job_id, run)


async def _act(
    request: Request, job_id: str, action: Callable[[JobRow], Awaitable[str]]
) -> RedirectResponse:
    job = await PreventiveJobs(db_of(request)).get(job_id)
    if job is None:
        return redirect_with(PAGE, Notice("error", "There is no such preventive job."))
    try:
        done = await action(job)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return redirect_with(
                PAGE,
                Notice(
                    "error",
                    f"{job.title} at {job.property_name} has no schedule yet. Press "
                    "“Update the schedules” (or restart the worker), then try again.",
                ),
            )
        return redirect_with(PAGE, Notice("error", UNREACHABLE))
    return redirect_with(PAGE, Notice("ok", done))
