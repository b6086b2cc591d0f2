"""PmsPollerWorkflow: brings a property-management system's new repair requests in, one
poller per system (``pms-poller-<source>``).

It waits for records by retrying, not by sleeping: the fetch activity fails while the system
has nothing new, and the server retries it at the poll interval (backoff 1.0). A quiet
system costs the history nothing until a batch arrives; then the poller starts one child
request per valid record under the record's own id, refused when that id was started before,
so a re-poll or a fresh poller never starts a request twice. Children are abandoned: they
outlive this run and the poller's continue-as-new, which carries the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, RetryState, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from opsdesk.errors import NON_RETRYABLE
from opsdesk.maintenance.polling import (
    RESUME,
    FetchBatch,
    PolledBatch,
    PolledRequest,
    PollerInput,
    PollerState,
)
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.temporal.steps import describe_failure

with workflow.unsafe.imports_passed_through():
    from opsdesk.maintenance.intake import IntakeActivities

FETCH_ATTEMPT = timedelta(seconds=60)
"""One ask of the system and the checks of its batch (each record against the directory)."""
QUIET_WINDOW = timedelta(days=1)
"""How long one fetch keeps retrying on a quiet system; then the poller simply asks again."""
STOPPED_RETRY = timedelta(hours=1)
"""After an error a retry cannot fix (a refused token), the poller tries again this late,
or at once when a worker starts (it sends ``resume``)."""
MAX_CHILDREN_PER_RUN = 1000
"""Children started in one run; Temporal caps a run's pending children at 2000."""


@workflow.defn
class PmsPollerWorkflow:
    @workflow.init
    def __init__(self, start: PollerInput) -> None:
        self._state = PollerState(
            source=start.source,
            cursor=start.cursor,
            poll_interval=start.poll_interval,
            totals=start.totals.model_copy(),
            last_batch_at=start.last_batch_at,
        )
        self._resume = False
        self._children = 0

    @workflow.run
    async def run(self, start: PollerInput) -> None:
        state = self._state
        while (
            state.polls_this_run < start.max_polls
            and self._children < MAX_CHILDREN_PER_RUN
            and not workflow.info().is_continue_as_new_suggested()
        ):
            batch = await self._fetch()
            state.polls_this_run += 1
            if batch is not None:
                await self._take(batch)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            PollerInput(
                source=state.source,
                poll_interval=state.poll_interval,
                max_polls=start.max_polls,
                cursor=state.cursor,
                totals=state.totals,
                last_batch_at=state.last_batch_at,
            )
        )

    @workflow.query
    def get_state(self) -> PollerState:
        return self._state

    @workflow.signal(name=RESUME)
    def resume(self) -> None:
        self._resume = True

    async def _fetch(self) -> PolledBatch | None:
        """The next batch; None when the quiet window ran out, or after a stop."""
        state = self._state
        interval = state.poll_interval
        try:
            return await workflow.execute_activity_method(
                IntakeActivities.fetch_batch,
                FetchBatch(source=state.source, cursor=state.cursor),
                start_to_close_timeout=FETCH_ATTEMPT,
                schedule_to_close_timeout=QUIET_WINDOW,
                retry_policy=RetryPolicy(
                    initial_interval=interval,
                    maximum_interval=interval,
                    backoff_coefficient=1.0,
                    non_retryable_error_types=list(NON_RETRYABLE),
                ),
            )
        except ActivityError as err:
            if err.retry_state is RetryState.TIMEOUT:
                return None
            if err.retry_state is not RetryState.NON_RETRYABLE_FAILURE:
                raise
            await self._stopped(describe_failure(err))
            return None

    async def _stopped(self, reason: str) -> None:
        state = self._state
        workflow.logger.warning("intake from %s stopped: %s", state.source, reason)
        state.stopped, state.stopped_at = reason, workflow.now()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._resume, timeout=STOPPED_RETRY)
        self._resume = False
        state.stopped = state.stopped_at = None

    async def _take(self, batch: PolledBatch) -> None:
        state = self._state
        started = await asyncio.gather(*(self._start(request) for request in batch.requests))
        state.cursor = batch.cursor
        state.poll_interval = batch.poll_interval
        state.last_batch_at = workflow.now()
        totals = state.totals
        totals.batches += 1
        totals.started += sum(started)
        totals.already_started += len(started) - sum(started)
        totals.set_aside += len(batch.set_aside)
        self._children += sum(started)

    async def _start(self, request: PolledRequest) -> bool:
        """Start the request's workflow; False when its id was used before."""
        try:
            await workflow.start_child_workflow(
                MaintenanceRequestWorkflow.run,
                request.submission,
                id=request.workflow_id,
                task_queue=request.task_queue,
                # A request is started once, by whichever poller (or run) gets there first.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                memo=request.memo,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(SearchAttributeKey.for_keyword(name), value)
                        for name, value in request.keywords.items()
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True
