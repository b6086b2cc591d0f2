"""Each order step's timeouts and retry policy, in one place, and how a failed step reads.

A step states only the timeouts its activity honours: a heartbeat timeout only where the
activity heartbeats, or an attempt that is merely slow (a busy database) would be timed out
while it still runs, and retried on top of itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError

from opsdesk.errors import NON_RETRYABLE
from opsdesk.notify.workflows import AI_ATTEMPTS


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


STORE = Step(timedelta(seconds=15), timedelta(minutes=5), timedelta(seconds=30))
"""A database step (claim, validate, reserve, warehouse request): it gives up after five
minutes of failures (the database is down), and the order then fails with compensation."""

RISK = Step(
    timedelta(seconds=60), timedelta(minutes=5), timedelta(seconds=30), maximum_attempts=AI_ATTEMPTS
)
"""Scoring may be a model call: a busy provider or an answer that does not fit is retried
at most three times, then the rules score the order and a person reviews it."""

PAYMENT = Step(
    timedelta(seconds=30),
    timedelta(minutes=10),
    timedelta(minutes=1),
    heartbeat=timedelta(seconds=5),
)
"""The charge waits on the processor and heartbeats meanwhile, so a worker that dies
mid-call is noticed in seconds."""

REFUND = Step(timedelta(seconds=30), None, timedelta(minutes=10), heartbeat=timedelta(seconds=5))
"""Undoing a charge: it heartbeats like the charge, and never gives up."""

UNDO = Step(timedelta(seconds=30), None, timedelta(minutes=10))
"""Undoing a database step (releasing stock, withdrawing the warehouse request): it never
gives up, and it does not heartbeat."""


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
