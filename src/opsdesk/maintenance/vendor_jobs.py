"""The vendor jobs kept when requests end: one row per request (``job_facts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import VendorJob
from opsdesk.maintenance.job_facts import JobFacts


class VendorJobs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, facts: JobFacts) -> bool:
        """Keep the job; False when the request's job was already kept (a retried
        activity, a replayed workflow), which keeps the first."""
        try:
            async with self.db.transaction() as session:
                session.add(VendorJob(**facts.model_dump(mode="python")))
        except IntegrityError:
            return False
        return True

    async def of_request(self, request_id: str) -> VendorJob | None:
        async with self.db.transaction() as session:
            return await session.scalar(select(VendorJob).where(VendorJob.request_id == request_id))

    async def all(self, vendor_ids: Sequence[str] | None = None) -> list[VendorJob]:
        """Every job (of these vendors, when given)."""
        query = select(VendorJob).order_by(VendorJob.id)
        if vendor_ids is not None:
            query = query.where(VendorJob.vendor_id.in_(list(vendor_ids)))
        async with self.db.transaction() as session:
            return list((await session.scalars(query)).all())

    async def completed_between(self, start: datetime, end: datetime) -> list[VendorJob]:
        """Jobs whose work was confirmed in [start, end)."""
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(VendorJob).where(
                    VendorJob.completed_at >= start, VendorJob.completed_at < end
                )
            )
            return list(rows.all())
