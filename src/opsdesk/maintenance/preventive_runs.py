"""A preventive job's run: open the repair request for the job's next due date, once.

The request is numbered as one from the tenant form (``R-0007``): its number is drawn under
a key of the job and due date and claimed in the runs table (one row per job and due date)
before the request starts, so a retried run, a second "Run now" or a run racing another
find the first one's number and start nothing else. Once started, the claim says so, and
later runs do not start it again even after Temporal has forgotten the closed request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.db.numbers import Drawn
from opsdesk.db.tables import Tenant
from opsdesk.errors import UnknownPreventiveJob
from opsdesk.maintenance.directory import unit_id
from opsdesk.maintenance.ids import number_of, numbered_request_id
from opsdesk.maintenance.inputs import PreventiveFacts, RequestForm, TenantContact
from opsdesk.maintenance.preventive import (
    OPEN_PREVENTIVE_REQUEST,
    Opened,
    OpenRequest,
    due_words,
)
from opsdesk.maintenance.preventive_jobs import JobRow, PreventiveJobs
from opsdesk.maintenance.service import (
    IntakeConflict,
    request_numbers,
    submission_of,
    submit_request,
)
from opsdesk.settings import Settings

OPS_NAME = "Ops"
"""Who answers a request's tenant questions (access times) for a unit nobody rents, or a
common area."""


class PreventiveActivities:
    def __init__(self, client: Client, db: Database, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings
        self.jobs = PreventiveJobs(db)

    @activity.defn(name=OPEN_PREVENTIVE_REQUEST)
    async def open_request(self, run: OpenRequest) -> Opened:
        job = await self.jobs.get(run.job_id)
        if job is None:
            raise UnknownPreventiveJob(f"there is no preventive job {run.job_id} any more")
        due = job.recurrence.next_due(run.at)
        claim = await self.jobs.claim_of(job.id, due)
        if claim is not None and claim.started:
            return Opened(request_id=claim.request_id, due=due, created=False)
        key = f"preventive:{job.id}:{due.isoformat()}"
        numbers = request_numbers(self.db)
        if claim is None:
            # The number first, under the job and due date, then the claim: of two runs at
            # once, both draw the one number, and one claim stands.
            drawn = await numbers.draw(key)
            claim = await self.jobs.claim(job.id, due, numbered_request_id(drawn.number))
        when = due_words(due, job.time_zone)
        form = RequestForm(
            property_id=job.property_id,
            unit=job.unit,
            tenant=await self._contact(job),
            description=_description(job, when),
        )
        facts = PreventiveFacts(
            job_id=job.id, title=job.title, trade=job.trade, due=due, due_words=when
        )
        while True:
            submission = submission_of(
                self.settings, claim.request_id, form, source="preventive", preventive=facts
            )
            try:
                _, created = await submit_request(self.client, self.settings, submission)
                break
            except IntakeConflict:
                # A client's own request holds this number: the job's takes the next one.
                taken = Drawn(number_of(claim.request_id), fresh=True)
                drawn = await numbers.pass_over(taken, key)
                claim = await self.jobs.reclaim(
                    job.id, due, claim.request_id, numbered_request_id(drawn.number)
                )
        await self.jobs.started(job.id, due)
        return Opened(request_id=claim.request_id, due=due, created=created)

    async def _contact(self, job: JobRow) -> TenantContact:
        """The unit's tenant in the directory (the first by id), or ops for a unit nobody
        rents: whoever gives the vendor the times they can get in."""
        async with self.db.transaction() as session:
            tenant = await session.scalar(
                select(Tenant)
                .where(Tenant.unit_id == unit_id(job.property_id, job.unit))
                .order_by(Tenant.id)
                .limit(1)
            )
        if tenant is None:
            return TenantContact(name=OPS_NAME, email=self.settings.ops_email)
        return TenantContact(name=tenant.name, email=tenant.email, phone=tenant.phone or "")

    def all(self) -> list[Callable[..., Any]]:
        return [self.open_request]


def _description(job: JobRow, due: str) -> str:
    return f"Preventive maintenance: {job.title}, due {due}. {job.instructions}"[:4000]
