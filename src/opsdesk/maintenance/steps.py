"""Each maintenance step's timeouts and retry policy, in one place."""

from __future__ import annotations

from datetime import timedelta

from opsdesk.notify.workflows import AI_ATTEMPTS
from opsdesk.temporal.steps import Step

DIRECTORY = Step(timedelta(seconds=15), timedelta(minutes=5), timedelta(seconds=30))
"""Reading the directory (property, vendors): it gives up after five minutes of failures."""

TRIAGE = Step(
    timedelta(seconds=60), timedelta(minutes=5), timedelta(seconds=30), maximum_attempts=AI_ATTEMPTS
)
"""Triage may be a model call: a busy provider or an answer that does not fit is retried at
most three times, then the offline rules triage the request."""

PAYOUT = Step(timedelta(seconds=30), None, timedelta(minutes=10))
"""Paying the vendor once the owner approved the invoice: it never gives up (the ledger
makes a retry a no-op), and it does not heartbeat."""

TRIAGE_BY_RULES = Step(timedelta(seconds=60), None, timedelta(minutes=1))
"""The offline rules, once the model has given up: no call leaves the worker, so nothing
but a worker outage can stop it, and it waits that out rather than leave the request
untriaged."""

INTAKE_STORE = Step(timedelta(seconds=15), None, timedelta(seconds=30))
"""Claiming a polled batch's records and committing the batch: it never gives up (a poller
that gave up would leave its batch half taken, and has nothing else to do), its stamp makes
a retry a no-op, and it does not heartbeat."""

RECORD_JOB = Step(timedelta(seconds=15), timedelta(hours=1), timedelta(minutes=5))
"""Keeping a vendor's job for the scorecards once the request has ended: retried for an
hour (a retry finds the job already kept), then given up with a warning in the worker's
log: the request has ended and nobody waits for it, only one job is missing from a card."""

OPEN_PREVENTIVE = Step(timedelta(seconds=30), timedelta(hours=1), timedelta(minutes=1))
"""A preventive job's run opening its request (the database and a workflow start): a job
or property that is gone fails it at once; anything else is retried for an hour, and a
retry opens nothing twice (one request per job and due date)."""

REMINDERS = Step(timedelta(seconds=60), timedelta(hours=1), timedelta(minutes=1))
"""Finding and claiming the documents' expiry reminders: retried for an hour while the
database is away, then the run fails and the next day's run sends what is still due."""
