"""The daily report, run now at an admin's asking: the schedule's own workflow, started
outside the schedule, for the time since the last report. The next scheduled report then
covers the time since this one."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from opsdesk.reports.models import ReportRequest
from opsdesk.reports.schedule import REPORT_WORKFLOW_ID, RUN_LIMIT
from opsdesk.reports.workflows import DailyReportWorkflow
from opsdesk.settings import Settings

RUN_NOW_PREFIX = f"{REPORT_WORKFLOW_ID}-now-"
"""A report run now is ``daily-report-now-<key's digest>``: the same key, the same report."""


@dataclass(frozen=True)
class ReportRun:
    report_id: str
    started: bool
    """False: a run with the same key had started already (a form posted twice)."""


def run_id(key: str | None) -> str:
    """The report's id for an idempotency key (a fresh one without a key). A digest, so any
    key a client sends makes an id the report pages accept."""
    if not key:
        return f"{RUN_NOW_PREFIX}{uuid.uuid4().hex[:24]}"
    return f"{RUN_NOW_PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:24]}"


async def run_now(client: Client, settings: Settings, key: str | None) -> ReportRun:
    """Start the daily report for the time since the last one; once per ``key``."""
    report_id = run_id(key)
    try:
        await client.start_workflow(
            DailyReportWorkflow.run,
            ReportRequest(recipient=settings.ops_email, zone=settings.business_time_zone),
            id=report_id,
            task_queue=settings.orders_task_queue,
            execution_timeout=RUN_LIMIT,
            # A key used once stays used, even after its report has finished.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return ReportRun(report_id, started=False)
    return ReportRun(report_id, started=True)


def run_message(run: ReportRun, recipient: str) -> str:
    """What a person is told after asking for a report now: what happens, and where."""
    first = "The report is being compiled" if run.started else "That report was already started"
    return (
        f"{first}: it covers the time since the last report, appears at the top of the "
        f"Reports list when it is ready (usually within a minute), and is emailed to {recipient}."
    )
