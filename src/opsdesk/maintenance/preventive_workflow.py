"""PreventiveRunWorkflow: what a preventive job's Temporal Schedule starts, 21 days before
each due date (and on "Run now"). It opens the job's repair request, which then runs as any
other: the vendor flow as usual, without the owner's approval of the repair."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

from opsdesk.maintenance.preventive import Opened, OpenRequest, PreventiveRunInput
from opsdesk.maintenance.steps import OPEN_PREVENTIVE

with workflow.unsafe.imports_passed_through():
    from opsdesk.maintenance.preventive_runs import PreventiveActivities


# Pinned: a scheduled run that ends within its activity's schedule-to-close timeout.
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class PreventiveRunWorkflow:
    @workflow.run
    async def run(self, job: PreventiveRunInput) -> Opened:
        # The run's first moment picks the due date: a retried activity opens the same one.
        return await workflow.execute_activity_method(
            PreventiveActivities.open_request,
            OpenRequest(job_id=job.job_id, at=workflow.now()),
            start_to_close_timeout=OPEN_PREVENTIVE.start_to_close,
            schedule_to_close_timeout=OPEN_PREVENTIVE.schedule_to_close,
            retry_policy=OPEN_PREVENTIVE.retry_policy,
        )
