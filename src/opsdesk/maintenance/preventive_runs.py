"""A preventive job's run: open the repair request for the job's next due date, once.

The request goes through ``submit_numbered_request`` like one from the tenant form: its
number is drawn under a key of the job and due date, so a retried run, a second "Run now"
or a run racing another find the first one's number and its workflow, and the runs table
keeps the request each due date opened for as long as the database lasts (Temporal forgets
closed workflows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.db.tables import Tenant
from opsdesk.errors import PreventiveRunConflict, UnknownPreventiveJob
from opsdesk.maintenance.directory import unit_id
from opsdesk.maintenance.inputs import PreventiveFacts, RequestForm, TenantContact
from opsdesk.maintenance.preventive import (
    OPEN_PREVENTIVE_REQUEST,
    Opened,
    OpenRequest,
    due_words,
)
from opsdesk.maintenance.preventive_jobs import JobRow, PreventiveJobs
from opsdesk.maintenance.service import IntakeConflict, submit_numbered_request
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
        found = await self.jobs.opened(job.id, due)
        if found is not None:
            return Opened(request_id=found, due=due, created=False)
        form = RequestForm(
            property_id=job.property_id,
            unit=job.unit,
            tenant=await self._contact(job),
            description=_description(job, due_words(due, job.time_zone)),
        )
        facts = PreventiveFacts(
            job_id=job.id,
            title=job.title,
            trade=job.trade,
            due=due,
            due_words=due_words(due, job.time_zone),
        )
        try:
            request_id, _, created = await submit_numbered_request(
                self.client,
                self.settings,
                self.db,
                form,
                idempotency_key=f"preventive:{job.id}:{due.isoformat()}",
                source="preventive",
                preventive=facts,
            )
        except IntakeConflict as exc:
            raise PreventiveRunConflict(str(exc)) from None
        kept = await self.jobs.record_opened(job.id, due, request_id)
        return Opened(request_id=kept, due=due, created=created and kept == request_id)

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
