"""Business counters kept by the workflows themselves, on the worker's metrics endpoint
(``OPSDESK_WORKER_METRICS_ADDRESS``) beside the SDK's own.

A workflow is where an order ends, an answer wins or a deadline passes, so that is where
they are counted. The SDK's workflow meter records nothing while a history is replayed,
so a step counts once however often its workflow is replayed; only a worker that dies
between counting and completing the workflow task can count a step twice (the next worker
runs it again). Each series is per worker and restarts at zero with it: sum them, and read
them with ``increase()`` or ``rate()``. The SDK adds ``namespace``, ``task_queue`` and
``workflow_type`` labels.
"""

from __future__ import annotations

from temporalio import workflow


def count(name: str, description: str, **labels: str) -> None:
    """Add one to counter ``name`` (exposed as ``<name>_total``), from workflow code."""
    workflow.metric_meter().create_counter(name, description).add(1, labels)
