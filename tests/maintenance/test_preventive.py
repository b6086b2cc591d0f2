"""Preventive maintenance: each job's Temporal Schedule on the dev server fires 21 days
before each due date; a run, however often it is triggered or retried, opens one request,
numbered and worded as the job says; the dashboard page pauses, resumes and runs a job; and
on the time-skipping server a preventive request under the owner's limit never asks the
owner, while a quote above it still does."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, func, select
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleDescription,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage, PreventiveRun, RequestNumber
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import PreventiveFacts
from opsdesk.maintenance.preventive import Opened, OpenRequest, PreventiveSpec, due_words
from opsdesk.maintenance.preventive_jobs import PreventiveJobs
from opsdesk.maintenance.preventive_runs import PreventiveActivities
from opsdesk.maintenance.preventive_schedules import reconcile_schedules, schedule_id
from opsdesk.maintenance.preventive_workflow import PreventiveRunWorkflow
from opsdesk.maintenance.service import request_handle, submission_of
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from tests.maintenance.helpers import drive_to, form, maintenance_worker, waiting_for
from tests.orders.helpers import served_api
from tests.staff import token_for
from tests.waiting import eventually

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
HTML = {"Accept": "text/html"}
NOTICE = re.compile(r"<p class=\"notice ([a-z]+)\"[^>]*data-notice>(.*?)</p>")
OWNER = "owner@harborlane.example"


def job(**fields: Any) -> PreventiveSpec:
    """A job on 12 Harbor Lane's unit 1A (Sam Rivera's), HVAC filters every 90 days."""
    return PreventiveSpec.model_validate(
        {
            "id": f"job-{uuid.uuid4().hex[:8]}",
            "unit": "1A",
            "title": "Replace the HVAC filters",
            "instructions": "Replace the furnace filter (16x25x1).",
            "trade": "hvac",
            "every_days": 90,
            "first_due": date(2031, 3, 1),
            **fields,
        }
    )


async def with_jobs(db: Database, *jobs: PreventiveSpec) -> None:
    """The sample directory with these jobs on 12 Harbor Lane and no others: a reconcile
    makes the test's schedules only, on the dev server the tests share."""
    spec = sample_directory()
    for prop in spec.properties:
        prop.preventive = list(jobs) if prop.id == "harbor-12" else []
    await Directory(db).import_directory(spec)


async def delete_schedules(client: Client, *jobs: PreventiveSpec) -> None:
    for each in jobs:
        with contextlib.suppress(RPCError):
            await client.get_schedule_handle(schedule_id(each.id)).delete()


def local_days(runs: Sequence[datetime]) -> list[date]:
    return [run.astimezone(LOS_ANGELES).date() for run in runs]


async def test_schedules_fire_21_days_before_each_due_date_and_keep_a_pause(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    client = dev_env.client
    filters = job()
    # Month ends: the due date keeps to the month's last day, and its run to 21 days before.
    alarms = job(
        unit="2B",
        title="Test the smoke alarms",
        trade="electrician",
        every_days=None,
        every_months=1,
        first_due=date(2031, 1, 31),
    )
    await with_jobs(db, filters, alarms)
    try:
        assert await reconcile_schedules(client, settings, db) == {"created": 2, "updated": 0}
        described = await client.get_schedule_handle(schedule_id(filters.id)).describe()
        runs = described.info.next_action_times[:3]
        lead = timedelta(days=21)
        assert [d + lead for d in local_days(runs)] == [
            date(2031, 3, 1), date(2031, 5, 30), date(2031, 8, 28),
        ]  # fmt: skip
        assert runs[0].astimezone(LOS_ANGELES).hour == 9

        alarm_schedule = client.get_schedule_handle(schedule_id(alarms.id))
        runs = (await alarm_schedule.describe()).info.next_action_times[:3]
        assert [d + lead for d in local_days(runs)] == [
            date(2031, 1, 31), date(2031, 2, 28), date(2031, 3, 31),
        ]  # fmt: skip
        assert all(run.astimezone(LOS_ANGELES).hour == 9 for run in runs)

        # A person's pause outlives a reconcile that brings in a changed job.
        await alarm_schedule.pause(note="tenant away")
        await with_jobs(db, filters, alarms.model_copy(update={"every_months": 3}))
        assert await reconcile_schedules(client, settings, db) == {"created": 0, "updated": 2}
        described = await alarm_schedule.describe()
        assert described.schedule.state.paused
        assert described.schedule.state.note == "tenant away"
        runs = described.info.next_action_times[:2]
        assert [d + lead for d in local_days(runs)] == [date(2031, 1, 31), date(2031, 4, 30)]
    finally:
        await delete_schedules(client, filters, alarms)


async def test_a_job_opens_one_request_however_often_its_schedule_runs(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    client = dev_env.client
    due = datetime.now(LOS_ANGELES).date() + timedelta(days=10)
    filters = job(first_due=due)
    await with_jobs(db, filters)
    schedule = client.get_schedule_handle(schedule_id(filters.id))
    try:
        async with maintenance_worker(dev_env, db, settings):
            # Made 11 days late for its first request: the reconcile opens it at once.
            await reconcile_schedules(client, settings, db)
            await eventually(schedule.describe, lambda d: d.info.num_actions == 1)

            async def run_now() -> ScheduleDescription:
                # A trigger in the same second as the last run is that run (one workflow
                # id), so "Run now" is pressed until the schedule counts another run.
                described = await schedule.describe()
                if described.info.num_actions < 3:
                    await schedule.trigger()
                return described

            described = await eventually(run_now, lambda d: d.info.num_actions >= 3)
            results: list[Opened] = []
            for action in described.info.recent_actions:
                started = action.action
                assert isinstance(started, ScheduleActionExecutionStartWorkflow)
                run = client.get_workflow_handle_for(
                    PreventiveRunWorkflow.run,
                    started.workflow_id,
                    run_id=started.first_execution_run_id,
                )
                results.append(await run.result())
            assert {r.request_id for r in results} == {results[0].request_id}
            assert [r.created for r in results].count(True) == 1
            request_id = results[0].request_id
            assert re.fullmatch(r"R-\d{4,}", request_id)
            assert {r.due for r in results} == {due}

            state = await waiting_for(request_handle(client, request_id), Stage.VENDOR_QUOTE)
            assert state.source == "preventive"
            assert state.preventive is not None
            assert state.preventive.due == due
            words = due_words(due, "America/Los_Angeles")
            assert state.form.description.startswith(
                f"Preventive maintenance: Replace the HVAC filters, due {words}. "
            )
            assert state.form.tenant.name == "Sam Rivera"
            assert state.triaged_by == "the preventive job"
            assert state.triage is not None
            assert state.triage.trade == "hvac"
            assert state.vendor is not None
            assert state.vendor.name == "WarmAir HVAC"
            assert Stage.OWNER_APPROVAL not in {q.stage for q in state.questions}
            assert state.timeline[0].event == (
                f"Opened by the preventive maintenance schedule: Replace the HVAC filters, "
                f"due {words}"
            )

            # A retried run (its activity again), even one that lost its record of the
            # request (a crash before it was kept), finds the request its first try opened.
            activities = PreventiveActivities(client, db, settings)
            again = OpenRequest(job_id=filters.id, at=datetime.now(UTC))
            assert await activities.open_request(again) == Opened(
                request_id=request_id, due=due, created=False
            )
            async with db.transaction() as session:
                await session.execute(delete(PreventiveRun))
            assert (await activities.open_request(again)).request_id == request_id

            # Three runs of another job at once (no schedule needed): one request between them.
            alarms = job(unit="2B", title="Test the smoke alarms", first_due=due)
            await with_jobs(db, filters, alarms)
            at_once = OpenRequest(job_id=alarms.id, at=datetime.now(UTC))
            runs = await asyncio.gather(*(activities.open_request(at_once) for _ in range(3)))
            assert len({r.request_id for r in runs}) == 1
            assert [r.created for r in runs].count(True) == 1
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(PreventiveRun)) == 2
            keys = await session.scalar(
                select(func.count())
                .select_from(RequestNumber)
                .where(RequestNumber.idempotency_key.like("preventive:%"))
            )
            assert keys == 2
    finally:
        await delete_schedules(client, filters)


def notice(html: str) -> tuple[str, str]:
    found = NOTICE.search(html)
    assert found is not None, html
    return found.group(1), found.group(2)


async def after(site: httpx.AsyncClient, response: httpx.Response) -> tuple[str, str]:
    """The notice the page shows after a form's redirect."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/maintenance/preventive"
    page = await site.get("/maintenance/preventive", headers=HTML)
    assert page.status_code == 200
    return notice(page.text)


async def test_the_page_lists_jobs_and_pauses_resumes_and_runs_them(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    client = dev_env.client
    filters = job()
    await with_jobs(db, filters)
    schedule = client.get_schedule_handle(schedule_id(filters.id))
    path = f"/maintenance/preventive/{filters.id}"
    try:
        async with served_api(dev_env, db, settings) as site:
            page = await site.get("/maintenance/preventive", headers=HTML)
            assert "Not scheduled yet" in page.text
            refused = await site.post(f"{path}/pause", headers=HTML)
            assert (await after(site, refused))[1].startswith(
                "Replace the HVAC filters at 12 Harbor Lane has no schedule yet."
            )
            kind, text = await after(
                site, await site.post("/maintenance/preventive/schedules", headers=HTML)
            )
            assert kind == "ok"
            assert text.startswith("Schedules brought up to date: 1 new, 0 checked.")
            page = await site.get("/maintenance/preventive", headers=HTML)
            row = page.text[page.text.index(f'data-job="{filters.id}"') :]
            assert "12 Harbor Lane" in row
            assert "every 90 days" in row
            assert "Sat 1 Mar 2031" in row  # the due date the next run is for
            assert ">Running<" in row
            # The next run, three weeks ahead, where the property is and with its zone named.
            assert re.search(r"Sat 8 Feb 2031, \d+:00 [AP]M PST", row), row

            kind, text = await after(site, await site.post(f"{path}/pause", headers=HTML))
            assert kind == "ok"
            assert "is paused" in text
            state = (await schedule.describe()).schedule.state
            assert state.paused
            assert state.note == "Paused by ops on the dashboard"
            page = await site.get("/maintenance/preventive", headers=HTML)
            assert "Paused" in page.text
            assert f'action="{path}/resume"' in page.text

            kind, text = await after(site, await site.post(f"{path}/resume", headers=HTML))
            assert kind == "ok"
            assert "is running again" in text
            assert not (await schedule.describe()).schedule.state.paused

            kind, text = await after(site, await site.post(f"{path}/run", headers=HTML))
            assert kind == "ok"
            assert "is being opened now" in text
            jobs = PreventiveJobs(db)
            opened = await eventually(
                lambda: jobs.opened(filters.id, date(2031, 3, 1)), lambda found: found is not None
            )
            kind, text = await after(site, await site.post(f"{path}/run", headers=HTML))
            assert (kind, text) == (
                "ok",
                f"The request for Replace the HVAC filters due Sat 1 Mar 2031 is already "
                f"open: {opened}.",
            )

            kind, text = await after(
                site, await site.post("/maintenance/preventive/no-such-job/run", headers=HTML)
            )
            assert (kind, text) == ("error", "There is no such preventive job.")

            viewer = {"Authorization": f"Bearer {await token_for(db, Role.VIEWER, 'viewer')}"}
            refused = await site.post(f"{path}/pause", headers={**HTML, **viewer})
            assert refused.status_code == 403
            assert "Traceback" not in refused.text
            assert not (await schedule.describe()).schedule.state.paused
    finally:
        await delete_schedules(client, filters)


async def test_a_preventive_request_under_the_limit_never_asks_the_owner(
    time_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    client = time_env.client
    due = date(2031, 3, 1)

    async def preventive(request_id: str) -> Any:
        submission = submission_of(
            settings,
            request_id,
            form("Preventive maintenance: Replace the HVAC filters, due Sat 1 Mar 2031."),
            source="preventive",
            preventive=PreventiveFacts(
                job_id="filters",
                title="Replace the HVAC filters",
                trade="hvac",
                due=due,
                due_words="Sat 1 Mar 2031",
            ),
        )
        return await client.start_workflow(
            MaintenanceRequestWorkflow.run,
            submission,
            id=request_workflow_id(request_id),
            task_queue=settings.maintenance_task_queue,
        )

    async with maintenance_worker(time_env, db, settings):
        under = await preventive("PM-under")
        state = await drive_to(under, Stage.AVAILABILITY, quote=20000)
        assert [q.stage for q in state.questions] == [Stage.VENDOR_QUOTE, Stage.AVAILABILITY]
        events = [entry.event for entry in state.timeline]
        assert "Preventive maintenance, routine, needs an HVAC technician" in events
        assert any(e.startswith("Estimate approved without asking") for e in events)

        over = await preventive("PM-over")
        state = await drive_to(over, Stage.ESTIMATE_APPROVAL, quote=40000)
        assert [q.stage for q in state.questions] == [
            Stage.VENDOR_QUOTE,
            Stage.ESTIMATE_APPROVAL,
        ]
        assert state.question is not None
        assert state.question.asked[-1].role == "owner"

        # The owner hears about the estimate above their limit, and nothing else.
        async def to_owner() -> list[str]:
            async with db.transaction() as session:
                return list(
                    await session.scalars(
                        select(OutboxMessage.reference).where(OutboxMessage.to_address == OWNER)
                    )
                )

        assert await eventually(to_owner, lambda refs: len(refs) >= 1) == [
            request_workflow_id("PM-over")
        ]
