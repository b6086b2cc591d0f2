"""Preventive jobs in the database: saved from the directory file, listed for the dashboard
and a property's page, and the request each due date opened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.db import Database
from opsdesk.db.tables import PreventiveJob, PreventiveRun, Property
from opsdesk.maintenance.preventive import PreventiveSpec, Recurrence

FROM_DIRECTORY = "the directory file"
"""Who a job imported from the directory file was created by."""


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
        """The request the job's ``due`` date opened, if one did."""
        async with self.db.transaction() as session:
            return await session.scalar(
                select(PreventiveRun.request_id).where(
                    PreventiveRun.job_id == job_id, PreventiveRun.due == due
                )
            )

    async def record_opened(self, job_id: str, due: date, request_id: str) -> str:
        """Keep the request ``due`` opened; the one kept first when another run got there."""
        try:
            async with self.db.transaction() as session:
                session.add(PreventiveRun(job_id=job_id, due=due, request_id=request_id))
        except IntegrityError:
            found = await self.opened(job_id, due)
            assert found is not None
            return found
        return request_id


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
