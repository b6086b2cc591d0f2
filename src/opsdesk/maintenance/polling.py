"""What the intake poller and its activities pass each other, and the poller's state.
Pure data: workflows import it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field
from temporalio.common import Priority as TaskPriority

from opsdesk.maintenance.inputs import RequestSubmission

FETCH_PMS_BATCH = "fetch_pms_batch"
CLAIM_PMS_RECORDS = "claim_pms_records"
COMMIT_PMS_BATCH = "commit_pms_batch"
RESUME = "resume"
"""The signal that wakes a poller stopped by an error a retry cannot fix (every worker start
sends it, so fixing the settings and restarting the worker is enough)."""


class FetchBatch(BaseModel):
    source: str
    cursor: str | None = None
    """The system's cursor after the last batch taken; None: from its first record."""
    stored: bool = False
    """Read after the source's stored cursor instead (``cursor`` only while none is stored:
    a poller from before the store). False: after ``cursor``, as pollers did before."""


class SetAside(BaseModel):
    """A record that did not validate: it is kept, with the reason, in ``pms_rejects``."""

    external_id: str
    reason: str


class PolledRequest(BaseModel):
    """A valid record, as the request it starts: the submission and the start options that
    ``service.start_options`` gives every request."""

    submission: RequestSubmission
    workflow_id: str
    task_queue: str
    memo: dict[str, Any]
    keywords: dict[str, str]
    """Keyword search attributes set at the start (the request is listed at once)."""
    priority_key: int | None = None
    fairness_key: str | None = None
    """The start's task priority (``service.start_priority``); None in batches taken
    before priorities, whose requests start with the server's default."""

    @property
    def priority(self) -> TaskPriority:
        return TaskPriority(priority_key=self.priority_key, fairness_key=self.fairness_key)

    @property
    def external_id(self) -> str:
        """The record's own id, which its claim is made under."""
        # Every polled submission carries it (IntakeActivities makes them so).
        assert self.submission.external_id is not None
        return self.submission.external_id


class PolledBatch(BaseModel):
    cursor: str
    """Where the next batch begins."""
    number: int | None = None
    """The batch's number in its source (batches taken before it), when it was read after
    the stored cursor; it keys the batch's claims and its commit."""
    requests: list[PolledRequest] = []
    set_aside: list[SetAside] = []
    poll_interval: timedelta
    """The worker's current setting, which the poller takes from its next poll on."""


class RecordClaim(BaseModel):
    external_id: str
    request_id: str


class ClaimRecords(BaseModel):
    """A batch's valid records, to be claimed before their requests start."""

    source: str
    stamp: str
    """Which start claims them: ``batch_stamp`` of the poller and the batch."""
    records: list[RecordClaim]


class ClaimedRecords(BaseModel):
    ours: list[str]
    """The external ids this batch starts, each once: unclaimed until now, or claimed by this
    same batch and not yet committed (a retry, a poller replaced in mid-batch)."""


class CommitBatch(BaseModel):
    """A batch whose claimed requests have started: the source's cursor moves past it."""

    source: str
    number: int
    cursor: str
    stamp: str
    started: list[str]
    """External ids whose requests were started, or found started, by this batch."""


class StoredCursor(BaseModel):
    """A source's cursor as the database keeps it."""

    source: str
    cursor: str | None
    batches: int
    updated_at: datetime


def batch_stamp(poller_id: str, number: int) -> str:
    """The idempotency key of a batch's claims: the poller's workflow id (stable across its
    runs, resets and continue-as-new) and the batch's number in its source."""
    return f"{poller_id}:batch-{number}"


class PollerTotals(BaseModel):
    """Counts since the poller's first run (carried across continue-as-new)."""

    batches: int = 0
    started: int = 0
    already_started: int = 0
    """Valid records whose request had been started before (by an earlier try of the same
    batch, or before records were claimed)."""
    duplicates: int = 0
    """Valid records claimed before by another batch (the system sent them again, a reset
    poller read a taken batch again): skipped, never a second request."""
    set_aside: int = 0


class PollerInput(BaseModel):
    source: str
    poll_interval: timedelta
    max_polls: Annotated[int, Field(ge=1)] = 100
    """Polls per run before it continues as new (sooner when Temporal suggests it)."""
    cursor: str | None = None
    """Where to begin while the source has no stored cursor (a poller from before the store
    carries its own); a stored cursor wins."""
    totals: PollerTotals = PollerTotals()
    last_batch_at: datetime | None = None


class PollerState(BaseModel):
    """What ``get_state`` answers: where the poller is and what it has done."""

    source: str
    cursor: str | None
    """The cursor after this poller's last batch (the stored one is where the next begins)."""
    poll_interval: timedelta
    totals: PollerTotals
    last_batch_at: datetime | None
    """When the last batch with records came in."""
    polls_this_run: int = 0
    stopped: str | None = None
    """Why it stopped polling (an error a retry cannot fix); None while it polls."""
    stopped_at: datetime | None = None
