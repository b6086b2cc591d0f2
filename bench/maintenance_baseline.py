"""The maintenance benchmarks' baselines: a repair request's and the intake poller's shapes
with nothing inside.

Its own module, importing only what a workflow module may (as ``bench/baseline.py``): the
sandbox re-imports a workflow's module for every run, and the baselines must not pay for the
benchmarks' imports. The fetch activity, which speaks HTTP, lives with the worker
(``bench/maintenance_stack.py``) and is called here by name.

Up to the owner's question a real request (``MaintenanceRequestWorkflow``) runs two
activities (the property from the directory, triage), then in one workflow task tells the
tenant and asks the owner, each a notification child (compose, record in the outbox,
deliver), and waits for the owner under the stage's deadline timer. ``BaselineRequest`` does
the same with no-op activities, no search-attribute or memo upserts and a request id for its
whole input. ``BaselinePoller`` is ``PmsPollerWorkflow``'s loop: a fetch retried at the
poll interval while the feed has nothing new, one child per record (duplicate ids refused,
parent-close ABANDON), without checking records against the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=5)
OWNER_WAIT = timedelta(hours=72)
"""The routine owner-approval deadline (``OPSDESK_OWNER_APPROVAL_DEADLINE_ROUTINE``)."""
FETCH = "bare_fetch"
FETCH_ATTEMPT = timedelta(seconds=60)
QUIET_WINDOW = timedelta(days=1)
MAX_POLLS = 100
"""Polls per run before the poller continues as new, as ``PollerInput.max_polls``."""


@dataclass
class BareFetch:
    url: str
    token: str
    cursor: str | None
    limit: int


@dataclass
class BareBatch:
    cursor: str
    ids: list[str]


@dataclass
class BarePollerInput:
    source: str
    url: str
    token: str
    limit: int
    poll_interval_s: float
    cursor: str | None = None


@activity.defn
async def noop(step: str) -> str:
    return step


@activity.defn
async def recorded(step: str) -> float:
    """The baseline's outbox write: when it happened (wall clock, as ``outbox.created_at``)."""
    return time.time()


def notice_id(request_workflow_id: str, n: int) -> str:
    return f"{request_workflow_id}-notify-{n}"


@workflow.defn
class BaselineNotice:
    """A notification's shape: compose, record, deliver. Returns when it was recorded."""

    @workflow.run
    async def run(self, kind: str) -> float:
        await workflow.execute_activity(
            noop, f"{kind}:compose", start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        at = await workflow.execute_activity(
            recorded, f"{kind}:record", start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        await workflow.execute_activity(
            noop, f"{kind}:deliver", start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        return at


@workflow.defn
class BaselineRequest:
    """A repair request's shape up to the owner's question, with nothing inside."""

    def __init__(self) -> None:
        self.status = "SUBMITTED"
        self.asked_at: datetime | None = None
        self.answered = False
        self._notices = 0
        self._in_flight: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, request_id: str) -> None:
        for step in ("load_property", "triage"):
            await workflow.execute_activity(
                noop, step, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        self._notify("tenant")  # "we have your request"
        self._notify("owner")  # the question
        self.status = "OWNER_APPROVAL"
        self.asked_at = workflow.now()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.answered, timeout=OWNER_WAIT)
        await asyncio.gather(*self._in_flight)

    def _notify(self, kind: str) -> None:
        self._notices += 1
        child = notice_id(workflow.info().workflow_id, self._notices)
        self._in_flight.append(asyncio.create_task(self._start(child, kind)))

    async def _start(self, child: str, kind: str) -> None:
        await workflow.start_child_workflow(
            BaselineNotice.run,
            kind,
            id=child,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )

    @workflow.query
    def get_state(self) -> dict[str, str | None]:
        return {
            "status": self.status,
            "asked_at": self.asked_at.isoformat() if self.asked_at else None,
        }


@workflow.defn
class BaselinePoller:
    """The intake poller's loop, with nothing inside."""

    @workflow.run
    async def run(self, start: BarePollerInput) -> None:
        interval = timedelta(seconds=start.poll_interval_s)
        cursor = start.cursor
        for _ in range(MAX_POLLS):
            batch = await workflow.execute_activity(
                FETCH,
                BareFetch(url=start.url, token=start.token, cursor=cursor, limit=start.limit),
                result_type=BareBatch,
                start_to_close_timeout=FETCH_ATTEMPT,
                schedule_to_close_timeout=QUIET_WINDOW,
                retry_policy=RetryPolicy(
                    initial_interval=interval, maximum_interval=interval, backoff_coefficient=1.0
                ),
            )
            await asyncio.gather(*(self._start(start.source, one) for one in batch.ids))
            cursor = batch.cursor
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            BarePollerInput(
                source=start.source,
                url=start.url,
                token=start.token,
                limit=start.limit,
                poll_interval_s=start.poll_interval_s,
                cursor=cursor,
            )
        )

    async def _start(self, source: str, external_id: str) -> bool:
        request_id = f"{source}-{external_id}"
        try:
            await workflow.start_child_workflow(
                BaselineRequest.run,
                request_id,
                id=f"baseline-{request_id}",
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True
