"""The platform half of a desk's workflow, written once for both desks.

In the spirit of samples-python's ``message_passing/waiting_for_handlers_and_compensation``:
a desk's workflow subclasses ``DeskWorkflow`` and reads as its business process, while the
concerns every long-running workflow with people in it shares live here:

- ``_execute`` runs one step (an activity, by typed reference, with its step's timeouts and
  retries) to its end even if Temporal cancels the workflow meanwhile: a step's effect must
  be known (was the card charged?) before anything is undone;
- ``_wait`` and ``_wait_for_person`` wait for a condition until a deadline; while a person
  is awaited the workflow is *settled*, and updates answer with the state as it is then;
- a cancel requested through Temporal (the CLI, the UI's button) is heard once and handed
  to the desk (``_on_temporal_cancel``) as a person's cancel would be;
- ``_until`` is what an update handler awaits: its own condition, or the workflow's end.
  Whatever else was accepted in the same workflow task, no handler outlives the workflow;
- ``_in_background`` and ``_start_abandoned`` start children that outlive the workflow
  (notifications, calls) in the task that decided them;
- ``_run_to_end`` is the closing sequence: a step that gave up ends the workflow in a state
  a person sees (``_gave_up``), never as a failed execution; then children are started,
  background steps end, every handler has answered, and a cancel from Temporal closes the
  execution as cancelled.

Deterministic like the workflows that use it: no I/O, only ``temporalio.workflow``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import Priority
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

from opsdesk.temporal.steps import Step, describe_failure

T = TypeVar("T")
A = TypeVar("A")

STEP_GAVE_UP_ENDS_VISIBLY = "step-gave-up-ends-visibly"
"""Patch: a step that gives up ends the workflow through ``_gave_up`` (before: the
execution failed)."""


class DeskWorkflow(ABC):
    """Base of a desk's workflow. Call ``_start_core`` from ``__init__``."""

    def _start_core(self) -> None:
        self._settled = False
        """True while the workflow waits for a person, and once it has ended: updates
        answer then, never halfway through a transition."""
        self._temporal_cancel = False
        """Set once Temporal has asked this workflow to cancel."""
        self._in_flight: list[asyncio.Task[None]] = []
        """Children being started and background steps: collected before the end."""

    # -- what a desk says about itself ---------------------------------------------------

    @property
    @abstractmethod
    def _ended(self) -> bool:
        """The desk's state is final: nothing a person sends can change it any more."""

    @property
    @abstractmethod
    def _ended_cancelled(self) -> bool:
        """The desk's state is final and says cancelled (a Temporal cancel closes the
        execution as cancelled then)."""

    @abstractmethod
    def _on_temporal_cancel(self, reason: str) -> None:
        """Temporal asked to cancel: take it as the desk's own cancel, or note why not."""

    @abstractmethod
    async def _gave_up(self, error: str) -> None:
        """A step gave up: undo what was done and end in a state people are told about."""

    def _step_priority(self) -> Priority:
        """The task priority and fairness key of the steps and children started now; the
        default inherits the workflow's own (a desk refines it as it learns more)."""
        return Priority.default

    # -- the closing sequence ------------------------------------------------------------

    async def _run_to_end(self, lifecycle: Callable[[], Awaitable[None]]) -> None:
        """Run the desk's lifecycle, then close: see the module's doc."""
        try:
            await lifecycle()
        except ActivityError as err:
            if not workflow.patched(STEP_GAVE_UP_ENDS_VISIBLY):
                raise
            await self._gave_up(describe_failure(err))
        # Children must have started, and background steps ended, before the workflow
        # closes.
        await self._steadily(asyncio.gather(*self._in_flight))
        self._settled = True
        await self._wait(workflow.all_handlers_finished, None)
        if self._temporal_cancel and self._ended_cancelled:
            # Compensated and told; the execution closes as cancelled, as asked.
            raise asyncio.CancelledError("cancelled in Temporal")

    # -- steps ---------------------------------------------------------------------------

    async def _execute(self, activity: Callable[[Any, A], Awaitable[T]], arg: A, step: Step) -> T:
        """Run one step to its end (see ``_steadily``)."""
        return await self._steadily(
            workflow.start_activity_method(
                activity,
                arg,
                start_to_close_timeout=step.start_to_close,
                schedule_to_close_timeout=step.schedule_to_close,
                heartbeat_timeout=step.heartbeat,
                retry_policy=step.retry_policy,
                priority=self._step_priority(),
            )
        )

    async def _steadily(self, future: Awaitable[T]) -> T:
        """Await a step in flight to its end, whatever Temporal asks meanwhile.

        Cancelling the workflow from Temporal would otherwise cut the step off with its
        effect unknown and skip compensation. Instead the cancel is heard as a person's
        would be, the step finishes, and the lifecycle acts on the cancel right after."""
        step = asyncio.ensure_future(future)
        while True:
            try:
                return await asyncio.shield(step)
            except asyncio.CancelledError:
                if step.cancelled() or not self._hear_temporal_cancel():
                    raise

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Start ``work`` now and let the lifecycle go on; ``_run_to_end`` collects it."""
        self._in_flight.append(asyncio.create_task(work))

    async def _start_abandoned(
        self, run: Callable[[Any, A], Awaitable[Any]], arg: A, workflow_id: str
    ) -> None:
        """Start a child that outlives this workflow (a notification, a call), once."""
        try:
            await workflow.start_child_workflow(
                run,
                arg,
                id=workflow_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                priority=self._step_priority(),
            )
        except WorkflowAlreadyStartedError:
            # Only after a reset replays past a child that was already started: it stands.
            workflow.logger.info("%s was already started", workflow_id)

    # -- waiting -------------------------------------------------------------------------

    async def _wait_for_person(
        self, condition: Callable[[], bool], limit: timedelta | None
    ) -> bool:
        """``_wait``, settled meanwhile: updates answer while a person is awaited."""
        self._settled = True
        try:
            return await self._wait(condition, limit)
        finally:
            self._settled = False

    async def _wait(self, condition: Callable[[], bool], limit: timedelta | None) -> bool:
        """Wait until ``condition`` holds (True) or ``limit`` has passed (False).

        A cancel from Temporal interrupts the wait; once heard the wait goes on until the
        same deadline, and ends at once if the cancel is what it was waiting for."""
        deadline = None if limit is None else workflow.now() + limit
        while True:
            remaining = None if deadline is None else deadline - workflow.now()
            try:
                await workflow.wait_condition(condition, timeout=remaining)
            except TimeoutError:
                return False
            except asyncio.CancelledError:
                if not self._hear_temporal_cancel():
                    raise
                if condition():
                    return True
                continue
            return True

    async def _until(self, condition: Callable[[], bool]) -> bool:
        """What an update handler awaits: ``condition`` (True), or the workflow's end with
        the condition still unmet (False), so that no handler waits for something the
        ended workflow will never do."""
        await workflow.wait_condition(lambda: condition() or (self._ended and self._settled))
        return condition()

    def _hear_temporal_cancel(self) -> bool:
        """Turn Temporal's cancel request into the desk's own, once. False when the
        cancellation is something else (the worker evicting this workflow from its
        cache), which must go on unhindered."""
        reason = workflow.cancellation_reason()
        if reason is None or self._temporal_cancel:
            return False
        if not self._hears_temporal_cancel():
            return False
        self._temporal_cancel = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # heard: the next await must not be cancelled again
        self._on_temporal_cancel(reason)
        return True

    def _hears_temporal_cancel(self) -> bool:
        """Whether this workflow turns Temporal's cancel into its own (a desk patches it)."""
        return True
