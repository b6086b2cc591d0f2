"""A step: one kind of activity's timeouts and retry policy, and how a failed step reads.

A step states only the timeouts its activity honours: a heartbeat timeout only where the
activity heartbeats, or an attempt that is merely slow (a busy database) would be timed out
while it still runs, and retried on top of itself. Each desk declares its steps in its own
``steps`` module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError

from opsdesk.errors import NON_RETRYABLE


@dataclass(frozen=True)
class Step:
    """Timeouts and retries of one kind of activity."""

    start_to_close: timedelta
    schedule_to_close: timedelta | None
    """None: retry until it succeeds or is refused outright."""
    max_interval: timedelta
    heartbeat: timedelta | None = None
    """Only for activities that heartbeat (``opsdesk.temporal.heartbeat.heartbeating``)."""
    maximum_attempts: int = 0
    """0: unlimited within ``schedule_to_close``."""

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=self.max_interval,
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=list(NON_RETRYABLE),
        )


def describe_failure(err: BaseException) -> str:
    """What the failed step said, as a person reads it: the error the activity raised (not
    the library error beneath it), or the innermost cause of a timeout."""
    cause: BaseException | None = err
    while (
        isinstance(cause, FailureError)
        and not isinstance(cause, ApplicationError)
        and cause.cause is not None
    ):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause) or type(cause).__name__
