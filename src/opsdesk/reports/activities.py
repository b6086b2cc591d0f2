"""The daily report's activities: reading the figures, and keeping the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.notify.compose import render_template
from opsdesk.reports.figures import compile_report
from opsdesk.reports.models import COMPILE_REPORT, KEEP_REPORT, TEMPLATE, Compile, DailyReport
from opsdesk.reports.store import Reports
from opsdesk.settings import Settings


class ReportActivities:
    def __init__(self, client: Client, db: Database, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    @activity.defn(name=COMPILE_REPORT)
    async def compile_report(self, what: Compile) -> DailyReport:
        """The figures since the last report, up to when this one was started."""
        return await compile_report(
            self.client, self.settings, self.db, what.report_id, what.end, what.request
        )

    @activity.defn(name=KEEP_REPORT)
    async def keep_report(self, report: DailyReport) -> None:
        """Keep the report as its email shows it, for the dashboard's Reports page."""
        content = render_template(
            TEMPLATE, report.model_dump(mode="json"), self.settings.resolved_public_url
        )
        await Reports(self.db).keep(report, content)

    def all(self) -> list[Callable[..., Any]]:
        return [self.compile_report, self.keep_report]
