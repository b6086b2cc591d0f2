"""Each order step's timeouts and retry policy, in one place."""

from __future__ import annotations

from datetime import timedelta

from opsdesk.notify.workflows import AI_ATTEMPTS
from opsdesk.temporal.steps import Step

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
