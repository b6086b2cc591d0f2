"""PmsPollerWorkflow: brings a property-management system's new repair requests in, one
poller per system (``pms-poller-<source>``).

It waits for records by retrying, not by sleeping: the fetch activity fails while the system
has nothing new, and the server retries it at the poll interval (backoff 1.0). A quiet
system costs the history nothing until a batch arrives.

A batch is read after the source's cursor as the database keeps it (``claims.py``), not the
workflow's: a poller that is terminated, fails or is reset goes on from there. Its valid
records are claimed, their requests started as children under the records' own ids, and
then the batch is committed, which moves the stored cursor past it. A batch cut short before
its commit is read again under the same stamp and finishes what it began; a record claimed
by another batch (sent again by the system, read again by a reset poller) is skipped and
counted as a duplicate, even when Temporal no longer remembers its request. Children are
abandoned: they outlive this run and the poller's continue-as-new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    VersioningBehavior,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ActivityError, RetryState, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from opsdesk.errors import NON_RETRYABLE
from opsdesk.maintenance.polling import (
    RESUME,
    ClaimRecords,
    CommitBatch,
    FetchBatch,
    PolledBatch,
    PolledRequest,
    PollerInput,
    PollerState,
    RecordClaim,
    batch_stamp,
)
from opsdesk.maintenance.steps import INTAKE_STORE
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
INTAKE_CLAIMS = "intake-claims"
"""Patch: batches read after the stored cursor, claimed, and committed. Before it a run read
after its own cursor, and only the id reuse policy kept it from starting a request twice."""

A = TypeVar("A")
T = TypeVar("T")


# Auto-upgrade: the poller never ends (it continues as new); it moves to the current build
# at its next poll, so changes stay behind a `workflow.patched`.
@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
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
        self._claims = False

    @workflow.run
    async def run(self, start: PollerInput) -> None:
        # Decided once, first thing: a run from before the patch keeps its old steps, on
        # whichever worker replays it, until it continues as new.
        self._claims = workflow.patched(INTAKE_CLAIMS)
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
                FetchBatch(source=state.source, cursor=state.cursor, stored=self._claims),
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
        if batch.number is None:
            # Read after the workflow's own cursor: a run from before the patch, or a fetch
            # that a worker from before it ran (during a roll-out).
            ours = batch.requests
            started = await self._start_all(ours)
            cursor: str | None = batch.cursor
        else:
            stamp = batch_stamp(workflow.info().workflow_id, batch.number)
            ours = await self._claim(batch, stamp)
            started = await self._start_all(ours)
            cursor = await self._commit(batch, batch.number, stamp, ours)
        # The batch shows in the state all at once, when it is done.
        state.cursor = cursor
        state.poll_interval = batch.poll_interval
        state.last_batch_at = workflow.now()
        totals = state.totals
        totals.batches += 1
        totals.started += started
        totals.already_started += len(ours) - started
        totals.duplicates += len(batch.requests) - len(ours)
        totals.set_aside += len(batch.set_aside)
        self._children += started

    async def _claim(self, batch: PolledBatch, stamp: str) -> list[PolledRequest]:
        """The batch's requests that it claimed, each once."""
        if not batch.requests:
            return []
        claimed = await self._store(
            IntakeActivities.claim_records,
            ClaimRecords(
                source=self._state.source,
                stamp=stamp,
                records=[
                    RecordClaim(
                        external_id=request.external_id, request_id=request.submission.request_id
                    )
                    for request in batch.requests
                ],
            ),
        )
        mine = set(claimed.ours)
        ours = []
        for request in batch.requests:
            if request.external_id in mine:
                mine.discard(request.external_id)  # once, if the page repeats it
                ours.append(request)
        return ours

    async def _commit(
        self, batch: PolledBatch, number: int, stamp: str, ours: list[PolledRequest]
    ) -> str | None:
        """Mark the claims started and move the stored cursor; the stored cursor after."""
        stored = await self._store(
            IntakeActivities.commit_batch,
            CommitBatch(
                source=self._state.source,
                number=number,
                cursor=batch.cursor,
                stamp=stamp,
                started=[request.external_id for request in ours],
            ),
        )
        return stored.cursor

    async def _start_all(self, requests: list[PolledRequest]) -> int:
        """Start each request's workflow; how many were not started before."""
        started = await asyncio.gather(*(self._start(request) for request in requests))
        return sum(started)

    async def _store(self, activity: Callable[[IntakeActivities, A], Awaitable[T]], arg: A) -> T:
        return await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=INTAKE_STORE.start_to_close,
            schedule_to_close_timeout=INTAKE_STORE.schedule_to_close,
            retry_policy=INTAKE_STORE.retry_policy,
        )

    async def _start(self, request: PolledRequest) -> bool:
        """Start the request's workflow; False when its id was used before (the claim's own
        batch started it before a crash, or it is from before claims)."""
        try:
            await workflow.start_child_workflow(
                MaintenanceRequestWorkflow.run,
                request.submission,
                id=request.workflow_id,
                task_queue=request.task_queue,
                # While Temporal remembers the request, a guard beside the claim (and the only
                # one for runs from before claims).
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                memo=request.memo,
                priority=request.priority,
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
