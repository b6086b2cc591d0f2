"""Delivering updates to workflows through the transient answers a server may give."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateHandle, WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode

NOT_READY_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


async def start_update_when_ready(
    handle: WorkflowHandle[Any, Any], update: Any, args: Sequence[Any], update_id: str
) -> WorkflowUpdateHandle[Any]:
    """Deliver the update, retrying while the server says the workflow is not ready.

    That answer is transient: it comes when the update lands on a workflow task the
    server had to throw away (one that tried to complete as a child workflow finished,
    say). The update id is the same on every try, so a retry cannot act twice.
    """
    for delay in (*NOT_READY_RETRY_DELAYS, None):
        try:
            pending: WorkflowUpdateHandle[Any] = await handle.start_update(
                update, args=args, id=update_id, wait_for_stage=WorkflowUpdateStage.ACCEPTED
            )
        except RPCError as exc:
            if exc.status is not RPCStatusCode.FAILED_PRECONDITION or delay is None:
                raise
            await asyncio.sleep(delay)
        else:
            return pending
    raise AssertionError("unreachable: the last try returns or raises")
