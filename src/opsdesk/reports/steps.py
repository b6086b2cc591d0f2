"""The report's steps' timeouts and retry policy, in one place."""

from __future__ import annotations

from datetime import timedelta

from opsdesk.temporal.steps import Step

READ = Step(timedelta(seconds=60), timedelta(hours=1), timedelta(minutes=1))
"""Reading the figures (visibility counts and ledger sums) and keeping the report: retried
for an hour while Temporal or the database is away, then the report fails and the next
one covers its period too."""
