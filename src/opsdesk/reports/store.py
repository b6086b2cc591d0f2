"""Reports kept: one row per report, written once (its id is the report's workflow id)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from opsdesk.db import Database
from opsdesk.db.tables import ReportRow
from opsdesk.notify.models import EmailContent
from opsdesk.reports.models import DailyReport


class KeptReport(BaseModel):
    report_id: str
    period_start: datetime
    period_end: datetime
    subject: str
    html: str
    report: DailyReport


class Reports:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def keep(self, report: DailyReport, content: EmailContent) -> None:
        """Keep ``report`` as ``content`` shows it; a report kept before stays as it was
        (a retried activity, or a workflow reset past this step)."""
        try:
            async with self.db.transaction() as session:
                session.add(
                    ReportRow(
                        id=report.report_id,
                        period_start=report.period.start,
                        period_end=report.period.end,
                        subject=content.subject,
                        html=content.html,
                        figures=report.model_dump(mode="json"),
                    )
                )
        except IntegrityError:
            pass

    async def previous_end(self, report_id: str, before: datetime) -> datetime | None:
        """Where the last report before ``before`` ended (not counting ``report_id`` itself,
        when it is run again): the next report starts there."""
        async with self.db.transaction() as session:
            found: datetime | None = await session.scalar(
                select(func.max(ReportRow.period_end)).where(
                    ReportRow.period_end <= before, ReportRow.id != report_id
                )
            )
            return found

    async def get(self, report_id: str) -> KeptReport | None:
        async with self.db.transaction() as session:
            row = await session.get(ReportRow, report_id)
            return None if row is None else _kept(row)

    async def recent(self, limit: int = 30, before: datetime | None = None) -> list[KeptReport]:
        """The newest reports first, ``limit`` of them, ending before ``before``."""
        query = select(ReportRow).order_by(ReportRow.period_end.desc()).limit(limit)
        if before is not None:
            query = query.where(ReportRow.period_end < before)
        async with self.db.transaction() as session:
            return [_kept(row) for row in await session.scalars(query)]


def _kept(row: ReportRow) -> KeptReport:
    return KeptReport(
        report_id=row.id,
        period_start=row.period_start,
        period_end=row.period_end,
        subject=row.subject,
        html=row.html,
        report=DailyReport.model_validate(row.figures),
    )
