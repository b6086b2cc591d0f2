"""The daily report's schedule on the dev server: its calendar fires on weekdays only, at
09:00 where the business is, across a daylight-saving change; a worker's start creates or
updates it without undoing a person's pause; and ``opsdesk schedules`` operates it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from opsdesk.reports.models import ReportRequest
from opsdesk.reports.schedule import SCHEDULE_ID, ensure_report_schedule, report_spec
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings
from tests.waiting import eventually

NEW_YORK = ZoneInfo("America/New_York")


async def test_weekdays_at_nine_in_new_york_across_the_spring_change(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    here = settings.model_copy(update={"business_time_zone": "America/New_York"})
    spec = report_spec(here)
    # Clocks in New York go forward on Sunday 14 March 2027: the server lays out the
    # runs from the Wednesday before.
    spec.start_at = datetime(2027, 3, 10, tzinfo=UTC)
    schedule_id = f"report-spec-{uuid.uuid4().hex[:8]}"
    handle = await dev_env.client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                DailyReportWorkflow.run,
                ReportRequest(recipient="ops@opsdesk.local", zone="America/New_York"),
                id="spec-check",
                task_queue=settings.orders_task_queue,
            ),
            spec=spec,
        ),
    )
    try:
        runs = (await handle.describe()).info.next_action_times
    finally:
        await handle.delete()
    local = [run.astimezone(NEW_YORK) for run in runs]
    assert [f"{t:%a %d}" for t in local[:6]] == [
        "Wed 10", "Thu 11", "Fri 12", "Mon 15", "Tue 16", "Wed 17",
    ]  # fmt: skip
    assert all(t.time() == time(9, 0) for t in local)
    assert all(t.weekday() < 5 for t in local)
    # 09:00 EST is 14:00 UTC; after the change, 09:00 EDT is 13:00 UTC.
    assert [run.astimezone(UTC).hour for run in runs[:4]] == [14, 14, 14, 13]


async def test_a_workers_start_creates_the_schedule_then_updates_it_and_keeps_a_pause(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    # Another test's worker may have made it on this shared server.
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    try:
        assert await ensure_report_schedule(client, settings) == "created"
        handle = client.get_schedule_handle(SCHEDULE_ID)
        await handle.pause(note="month-end close")
        later = settings.model_copy(
            update={"report_at": time(8, 30), "business_time_zone": "Europe/London"}
        )
        assert await ensure_report_schedule(client, later) == "updated"
        described = await handle.describe()
        assert described.schedule.state.paused
        assert described.schedule.state.note == "month-end close"
        [calendar] = described.schedule.spec.calendars
        assert (calendar.hour[0].start, calendar.minute[0].start) == (8, 30)
        assert described.schedule.spec.time_zone_name == "Europe/London"
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


def _opsdesk(client: Client, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
    env["TEMPORAL_ADDRESS"] = client.service_client.config.target_host
    return subprocess.run(
        [sys.executable, "-m", "opsdesk", "schedules", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_people_list_pause_unpause_and_trigger_schedules(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = dev_env.client
    schedule_id = f"report-cli-{uuid.uuid4().hex[:8]}"
    handle = await client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                DailyReportWorkflow.run,
                ReportRequest(recipient="ops@opsdesk.local", zone="UTC"),
                id=schedule_id,
                task_queue=f"nobody-polls-{schedule_id}",
            ),
            spec=report_spec(settings),
        ),
    )
    try:
        listed = await asyncio.to_thread(_opsdesk, client, "list")
        assert listed.returncode == 0, listed.stderr
        assert schedule_id in listed.stdout
        assert "active" in listed.stdout

        paused = await asyncio.to_thread(_opsdesk, client, "pause", schedule_id, "--note", "audit")
        assert paused.returncode == 0, paused.stderr
        assert f"paused {schedule_id}" in paused.stderr
        assert (await handle.describe()).schedule.state.note == "audit"
        listed = await asyncio.to_thread(_opsdesk, client, "list")
        assert "paused (audit)" in listed.stdout

        unpaused = await asyncio.to_thread(_opsdesk, client, "unpause", schedule_id)
        assert unpaused.returncode == 0, unpaused.stderr
        assert not (await handle.describe()).schedule.state.paused

        triggered = await asyncio.to_thread(_opsdesk, client, "trigger", schedule_id)
        assert triggered.returncode == 0, triggered.stderr
        described = await eventually(handle.describe, lambda d: d.info.num_actions == 1)
        started = described.info.recent_actions[0].action
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        assert started.workflow_id.startswith(schedule_id)

        unknown = await asyncio.to_thread(_opsdesk, client, "pause", "no-such-schedule")
        assert unknown.returncode == 1
        assert "no schedule 'no-such-schedule' here" in unknown.stderr
        assert "Traceback" not in unknown.stderr
    finally:
        await handle.delete()
