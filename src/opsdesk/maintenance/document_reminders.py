"""The daily run that reminds vendors and ops of documents about to expire (30 and 7 days
before). A Temporal Schedule starts it (``document_schedule.py``); the database's claims
make each reminder once, so a second run on the same day sends nothing."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import WorkflowAlreadyStartedError

from opsdesk.maintenance.payloads import ReminderClaim, ReminderRequest
from opsdesk.maintenance.steps import REMINDERS
from opsdesk.notify.workflows import NotificationWorkflow

with workflow.unsafe.imports_passed_through():
    from opsdesk.maintenance.activities import MaintenanceActivities

REMINDERS_WORKFLOW_ID = "vendor-document-reminders"
"""Each run's id is this and its scheduled time; the claims name the run."""


# Pinned: a scheduled run that ends within its activity's schedule-to-close timeout.
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class DocumentRemindersWorkflow:
    @workflow.run
    async def run(self, request: ReminderRequest) -> int:
        """How many reminders this run sent."""
        run_id = workflow.info().workflow_id
        due = await workflow.execute_activity_method(
            MaintenanceActivities.claim_document_reminders,
            ReminderClaim(run_id=run_id, at=workflow.now(), request=request),
            start_to_close_timeout=REMINDERS.start_to_close,
            schedule_to_close_timeout=REMINDERS.schedule_to_close,
            retry_policy=REMINDERS.retry_policy,
        )
        for notification in due.notifications:
            try:
                # Each email outlives the run: a mail server that is down holds up no run.
                await workflow.start_child_workflow(
                    NotificationWorkflow.run,
                    notification,
                    id=notification.key,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                workflow.logger.info("reminder %s was already started", notification.key)
        return len(due.notifications)
