"""Preventive jobs in the database: saved from the directory file, listed for the dashboard
and a property's page, and the request each due date opened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.db import Database
from opsdesk.db.tables import PreventiveJob, PreventiveRun, Property
from opsdesk.maintenance.preventive import PreventiveSpec, Recurrence

FROM_DIRECTORY = "the directory file"
"""Who a job imported from the directory file was created by."""


class Claim(BaseModel):
    """The request a job's due date claimed, and whether it has started."""

    request_id: str
    started: bool


class JobRow(BaseModel):
    """A preventive job as pages and runs read it, with its property's name and zone."""

    id: str
    property_id: str
    property_name: str
    time_zone: str
    unit: str
    title: str
    instructions: str
    trade: str
    every_days: int | None
    every_months: int | None
    first_due: date
    created_by: str

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(
            first_due=self.first_due,
            every_days=self.every_days,
            every_months=self.every_months,
            time_zone=self.time_zone,
        )


async def save_jobs(
    session: AsyncSession, property_id: str, specs: Sequence[PreventiveSpec], created_by: str
) -> None:
    """Create or update a property's jobs by id, in the caller's transaction; a job keeps
    who created it. The schedules follow at the next reconcile."""
    for spec in specs:
        job = await session.get(PreventiveJob, spec.id)
        if job is None:
            job = PreventiveJob(id=spec.id, created_by=created_by)
            session.add(job)
        job.property_id = property_id
        job.unit = spec.unit
        job.title = spec.title
        job.instructions = spec.instructions
        job.trade = spec.trade
        job.every_days = spec.every_days
        job.every_months = spec.every_months
        job.first_due = spec.first_due


class PreventiveJobs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> list[JobRow]:
        """Every job, by property, then title."""
        return await self._rows(None)

    async def for_property(self, property_id: str) -> list[JobRow]:
        """A property's jobs, by title: what its page lists."""
        return await self._rows(property_id)

    async def get(self, job_id: str) -> JobRow | None:
        async with self.db.transaction() as session:
            found = (
                await session.execute(
                    select(PreventiveJob, Property)
                    .join(Property, Property.id == PreventiveJob.property_id)
                    .where(PreventiveJob.id == job_id)
                )
            ).first()
        return None if found is None else _row(*found)

    async def _rows(self, property_id: str | None) -> list[JobRow]:
        query = (
            select(PreventiveJob, Property)
            .join(Property, Property.id == PreventiveJob.property_id)
            .order_by(Property.name, PreventiveJob.title, PreventiveJob.id)
        )
        if property_id is not None:
            query = query.where(PreventiveJob.property_id == property_id)
        async with self.db.transaction() as session:
            return [_row(job, prop) for job, prop in (await session.execute(query)).all()]

    async def opened(self, job_id: str, due: date) -> str | None:
        """The request the job's ``due`` date opened (or is opening), if any."""
        claim = await self.claim_of(job_id, due)
        return None if claim is None else claim.request_id

    async def claim_of(self, job_id: str, due: date) -> Claim | None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(PreventiveRun).where(
                    PreventiveRun.job_id == job_id, PreventiveRun.due == due
                )
            )
            return None if row is None else Claim(request_id=row.request_id, started=row.started)

    async def claim(self, job_id: str, due: date, request_id: str) -> Claim:
        """Claim ``due``'s request under ``request_id``; the claim made first when another
        run got there (it may have started the request already)."""
        try:
            async with self.db.transaction() as session:
                session.add(PreventiveRun(job_id=job_id, due=due, request_id=request_id))
        except IntegrityError:
            found = await self.claim_of(job_id, due)
            assert found is not None
            return found
        return Claim(request_id=request_id, started=False)

    async def reclaim(self, job_id: str, due: date, old: str, new: str) -> Claim:
        """Move the claim from ``old`` to ``new`` (``old`` turned out to be taken); the claim
        as it stands when another run moved it first."""
        async with self.db.transaction() as session:
            await session.execute(
                update(PreventiveRun)
                .where(
                    PreventiveRun.job_id == job_id,
                    PreventiveRun.due == due,
                    PreventiveRun.request_id == old,
                )
                .values(request_id=new)
            )
        found = await self.claim_of(job_id, due)
        assert found is not None
        return found

    async def started(self, job_id: str, due: date) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(PreventiveRun)
                .where(PreventiveRun.job_id == job_id, PreventiveRun.due == due)
                .values(started=True)
            )


def _row(job: PreventiveJob, prop: Property) -> JobRow:
    return JobRow(
        id=job.id,
        property_id=prop.id,
        property_name=prop.name,
        time_zone=prop.time_zone,
        unit=job.unit,
        title=job.title,
        instructions=job.instructions,
        trade=job.trade,
        every_days=job.every_days,
        every_months=job.every_months,
        first_due=job.first_due,
        created_by=job.created_by,
    )
