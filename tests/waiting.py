"""Wait for something that becomes true asynchronously (visibility, pollers, deliveries)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")

# What a busy machine or a restarting server answers for a while: not yet, not failure.
# A query that no worker has picked up yet ("no poller seen for task queue recently") is
# one of these, as is a server that is not answering yet.
NOT_YET_STATUSES = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.CANCELLED,
    }
)


def not_yet(error: BaseException) -> bool:
    """True for an error that says "try again shortly" rather than "this is wrong"."""
    if isinstance(error, RPCError):
        return error.status in NOT_YET_STATUSES
    if isinstance(error, WorkflowQueryFailedError):
        return "no poller" in str(error).lower() or "timeout" in str(error).lower()
    return isinstance(error, TimeoutError | ConnectionError)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Call ``probe`` until ``until(result)`` holds; return that result, or fail showing the
    last result or error. A transient error (see ``not_yet``) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = await probe()
        except Exception as exc:
            if not not_yet(exc):
                raise
            last = exc
        else:
            if until(result):
                return result
            last = result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)
