"""Worker interceptors."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    _workflow_instance,
)

from opsdesk.errors import NonRetryableError

log = logging.getLogger("opsdesk.activities")


class OutcomeInterceptor(Interceptor):
    """Report an activity's ``NonRetryableError`` as what it is.

    Every such error fails its step at once (non-retryable by type). A business outcome
    among them (``benign``: a declined card, an unknown sku) is also marked benign, so the
    SDK neither logs it as a fault with a traceback nor counts it as a failure; one line
    at INFO says what happened instead.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ReportOutcomes(next)


class _ReportOutcomes(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except NonRetryableError as err:
            if not err.benign:
                raise
            info = activity.info()
            log.info("%s for %s: %s", info.activity_type, info.workflow_id, err)
            raise ApplicationError(
                str(err),
                type=type(err).__name__,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            ) from None


class UnversionedInterceptor(Interceptor):
    """For a worker outside any Worker Deployment (tests, benchmarks, versioning off): the
    server refuses a workflow task that names a versioning behaviour from such a worker,
    and the SDK names the one ``@workflow.defn`` declares whatever the worker is.

    It clears a private attribute of the SDK's workflow instance; made where the worker
    is built, it first checks the SDK still has it, so an SDK upgrade that renames it
    stops the worker at start with a sentence rather than fail every workflow task."""

    def __init__(self) -> None:
        if not sdk_keeps_versioning_behavior():
            raise RuntimeError(
                "this temporalio release keeps a workflow's versioning behaviour elsewhere: "
                "unversioned workers (OPSDESK_WORKER_VERSIONING=false) need "
                "opsdesk.temporal.interceptors.UnversionedInterceptor updated for it"
            )

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _NoVersioningBehavior


def sdk_keeps_versioning_behavior() -> bool:
    """Whether the SDK's workflow instance holds its behaviour in ``_versioning_behavior``,
    the attribute ``UnversionedInterceptor`` clears."""
    source = inspect.getsource(_workflow_instance._WorkflowInstanceImpl)
    return "self._versioning_behavior" in source


class _NoVersioningBehavior(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        # The instance exists by now and reads its behaviour each time it completes a task.
        # No public way to say "none" exists (a dynamic config is for dynamic workflows
        # only), so this sets what the SDK's instance reads; if the SDK renames it, every
        # unversioned test on the dev server fails with the server's refusal.
        runtime = workflow._Runtime.current()
        runtime._versioning_behavior = None  # type: ignore[attr-defined]
        return await super().execute_workflow(input)
