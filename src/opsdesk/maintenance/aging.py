"""Requests that age: ops are emailed when a request has been open 3, 7 and 14 days
(``OPSDESK_AGING_THRESHOLDS``), once per request and threshold.

A Temporal Schedule (``aging_schedule``) starts ``AgingWorkflow`` every hour; its one
activity (``aging_alerts``) finds the open requests through visibility (a list query on the
requests' creation time, never a scan of every workflow) and claims each threshold crossed
in the database (unique on request and threshold), and the workflow emails ops once per
request claimed, naming the highest threshold. A request first seen past several
thresholds (the feature is new, the schedule was paused) gets one email, not one per
threshold. No I/O here: the worker's sandbox loads this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import WorkflowAlreadyStartedError

from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.payloads import AgedRequest, AgingCheck, AgingResult
from opsdesk.notify.models import Notification
from opsdesk.notify.workflows import NotificationWorkflow, child_key
from opsdesk.temporal.steps import Step

with workflow.unsafe.imports_passed_through():
    from opsdesk.maintenance.aging_alerts import AgingActivities

TEMPLATE = "maintenance/message"
AGING_WORKFLOW_ID = "maintenance-aging"
"""The schedule's action id: each run is this and its scheduled time."""

CLAIM = Step(timedelta(seconds=60), timedelta(minutes=30), timedelta(minutes=1))
"""Finding aged requests and claiming their alerts: retried for half an hour while
Temporal or the database is away, then the run fails and the next hour's tries again."""


class AgingRun(BaseModel):
    """What the schedule starts each run with."""

    recipient: str
    """Who is told: ``OPSDESK_OPS_EMAIL``."""
    zone: str
    """The business's time zone: ops read times in it."""
    thresholds: list[int]
    now: datetime | None = None
    """The moment requests are aged at; None: when the run starts (a test names one)."""


def aging_words(aged: AgedRequest, recipient_zone: str) -> dict[str, Any]:
    """The email's facts (``maintenance/message``'s template)."""
    row = aged.row
    days = aged.threshold_days
    waiting = (
        f"It is waiting for the {row.waiting_on} to answer: {row.stage.words}."
        if row.waiting_on is not None and row.stage is not None
        else f"It is {row.status.words}."
    )
    if row.waiting_on == "ops":
        waiting = "It is waiting for you to accept or refuse the report: nobody is on file."
    details: list[dict[str, Any]] = [
        {"label": "Request", "text": row.request_id},
        {"label": "Where", "text": f"{row.property_name}, unit {row.unit}"},
        {"label": "Problem", "text": row.summary},
        {"label": "Reported", "at": row.created_at.isoformat()},
    ]
    if row.vendor_name:
        details.append({"label": "Vendor", "text": row.vendor_name})
    if row.deadline is not None and row.waiting_on is not None:
        details.append({"label": "Answer due", "at": row.deadline.isoformat()})
    return {
        "subject": f"Request {row.request_id} has been open {days} days",
        "greeting": "Ops,",
        "paragraphs": [
            f"Request {row.request_id} was reported more than {days} days ago and is "
            f"still open. {waiting}",
            "Please look at it today: chase the person it waits for, or reassign or "
            "cancel it. You will not be told about this request again until it has been "
            "open for the next limit.",
        ],
        "details": details,
        "link": None,
        "button": "",
        "dashboard_path": f"/maintenance/{row.request_id}",
        "time_zone": recipient_zone,
    }


# Pinned: a scheduled run that ends within its activity's schedule-to-close timeout.
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class AgingWorkflow:
    @workflow.run
    async def run(self, run: AgingRun) -> AgingResult:
        run_id = workflow.info().workflow_id
        found = await workflow.execute_activity_method(
            AgingActivities.claim_aging_alerts,
            AgingCheck(run_id=run_id, now=run.now or workflow.now(), thresholds=run.thresholds),
            start_to_close_timeout=CLAIM.start_to_close,
            schedule_to_close_timeout=CLAIM.schedule_to_close,
            retry_policy=CLAIM.retry_policy,
        )
        for aged in found.alerts:
            reference = request_workflow_id(aged.row.request_id)
            key = child_key(reference, "aging", aged.threshold_days)
            notification = Notification(
                key=key,
                template=TEMPLATE,
                to=run.recipient,
                reference=reference,
                facts=aging_words(aged, run.zone),
            )
            try:
                # The email outlives the run: a mail server that is down holds up no run.
                await workflow.start_child_workflow(
                    NotificationWorkflow.run,
                    notification,
                    id=key,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                workflow.logger.info("the aging email %s was already started", key)
        return found
