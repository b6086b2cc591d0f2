"""Which repair goes first when the workers are busy: Temporal's task priority and fairness.

Under load the maintenance task queue holds a backlog, and Temporal hands its tasks out by
priority key first (1 goes first) and then, within a priority, fairly between fairness keys.
A request's tasks carry:

- the priority of its triage: an emergency at 1, urgent at 2, routine at 3 (the server's
  default with its five levels), so an emergency's steps pass routine work waiting ahead;
- its property owner as the fairness key, so one owner's burst of requests takes its turn
  beside everyone else's instead of ahead of it.

The workflow's start carries what is known then (``service.start_options``: the owner from
the directory, the priority the written emergency criteria give the description), and the
steps after triage carry the triage's own (``MaintenanceRequestWorkflow._step_priority``),
as do the notifications and calls the request starts. Pure: the workflow imports it.
"""

from __future__ import annotations

from temporalio.common import Priority as TaskPriority

from opsdesk.ai.models import Priority

PRIORITY_KEYS: dict[Priority, int] = {"emergency": 1, "urgent": 2, "routine": 3}
"""Temporal's priority key for each triage priority: smaller goes first."""

MAX_FAIRNESS_KEY = 64
"""Temporal's limit on a fairness key, in bytes."""


def owner_key(owner_id: str) -> str:
    """The fairness key of an owner's requests."""
    # Directory ids are short ASCII; the cut only guards the server's limit.
    return f"owner:{owner_id}"[:MAX_FAIRNESS_KEY]


def task_priority(priority: Priority | None, owner_id: str | None) -> TaskPriority:
    """The task priority of a request's work: None for what is not known yet, which the
    server fills from the workflow's own priority (or its default)."""
    return TaskPriority(
        priority_key=None if priority is None else PRIORITY_KEYS[priority],
        fairness_key=None if owner_id is None else owner_key(owner_id),
    )
