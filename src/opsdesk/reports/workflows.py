"""The daily report: read the figures since the last report, keep the report for the
dashboard, and email it to ops. A Temporal Schedule starts it (``schedule.py``)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import WorkflowAlreadyStartedError

from opsdesk.notify.models import Notification
from opsdesk.notify.workflows import NotificationWorkflow
from opsdesk.reports.models import TEMPLATE, Compile, DailyReport, ReportRequest
from opsdesk.reports.steps import READ

with workflow.unsafe.imports_passed_through():
    # Only the activities (database, visibility): models load as the worker's sandbox says.
    from opsdesk.reports.activities import ReportActivities


# Pinned: a scheduled run that ends within its activities' schedule-to-close timeouts.
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class DailyReportWorkflow:
    @workflow.run
    async def run(self, request: ReportRequest) -> DailyReport:
        # The schedule names each run "<action id>-<scheduled time>": the report's id, and
        # so the key of everything it writes.
        report_id = workflow.info().workflow_id
        report = await workflow.execute_activity_method(
            ReportActivities.compile_report,
            Compile(report_id=report_id, end=workflow.now(), request=request),
            start_to_close_timeout=READ.start_to_close,
            schedule_to_close_timeout=READ.schedule_to_close,
            retry_policy=READ.retry_policy,
        )
        await workflow.execute_activity_method(
            ReportActivities.keep_report,
            report,
            start_to_close_timeout=READ.start_to_close,
            schedule_to_close_timeout=READ.schedule_to_close,
            retry_policy=READ.retry_policy,
        )
        notification = Notification(
            key=f"{report_id}:email",
            template=TEMPLATE,
            to=request.recipient,
            reference=report_id,
            facts=report.model_dump(mode="json"),
        )
        try:
            # The email outlives the report's run: a mail server that is down holds up
            # neither this run nor the next.
            await workflow.start_child_workflow(
                NotificationWorkflow.run,
                notification,
                id=f"{report_id}-email",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("the report's email was already started")
        return report
