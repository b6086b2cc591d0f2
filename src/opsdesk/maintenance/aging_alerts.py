"""The aging run's activity: which open requests crossed a threshold, each claimed once in
the database (``aging_alerts``, unique on request and threshold)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.db.tables import AgingAlert
from opsdesk.maintenance.listing import base_query, row_of
from opsdesk.maintenance.payloads import CLAIM_AGING, AgedRequest, AgingCheck, AgingResult
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa

MOST_REQUESTS = 5000
"""How many open requests one run reads at most (oldest are not guaranteed first: a desk
with more open requests than this has a bigger problem than its emails)."""


def aged_query(settings: Settings, created_before: str) -> str:
    """Open requests reported before ``created_before`` (ISO 8601)."""
    return (
        f"{base_query(settings)} AND ExecutionStatus = 'Running' "
        f"AND {sa.CREATED.name} <= '{created_before}'"
    )


class AgingAlerts:
    """The thresholds ops were told about, per request."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, request_id: str, thresholds: Sequence[int], run_id: str) -> list[int]:
        """Claim ``thresholds`` of the request for ``run_id``: the ones this run holds (now,
        or on an earlier attempt of the same run), whichever were claimed before by others."""
        async with self.db.transaction() as session:
            taken = set(
                (
                    await session.scalars(
                        select(AgingAlert.threshold_days).where(AgingAlert.request_id == request_id)
                    )
                ).all()
            )
        for days in thresholds:
            if days in taken:
                continue
            try:
                async with self.db.transaction() as session:
                    session.add(
                        AgingAlert(request_id=request_id, threshold_days=days, claimed_by=run_id)
                    )
            except IntegrityError:
                pass  # another run claimed it meanwhile: theirs to tell
        async with self.db.transaction() as session:
            mine = await session.scalars(
                select(AgingAlert.threshold_days).where(
                    AgingAlert.request_id == request_id, AgingAlert.claimed_by == run_id
                )
            )
            return sorted(mine.all())

    async def of_request(self, request_id: str) -> list[AgingAlert]:
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(AgingAlert)
                .where(AgingAlert.request_id == request_id)
                .order_by(AgingAlert.threshold_days)
            )
            return list(rows.all())


class AgingActivities:
    def __init__(self, client: Client, db: Database, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    @activity.defn(name=CLAIM_AGING)
    async def claim_aging_alerts(self, check: AgingCheck) -> AgingResult:
        """Open requests past a threshold at ``check.now``, each with the highest threshold
        this run claimed for it (none: ops were told before)."""
        thresholds = sorted(set(check.thresholds))
        before = (check.now - timedelta(days=thresholds[0])).isoformat()
        alerts: list[AgedRequest] = []
        claims = AgingAlerts(self.db)
        read = 0
        async for execution in self.client.list_workflows(
            aged_query(self.settings, before), page_size=100
        ):
            read += 1
            if read > MOST_REQUESTS:
                break
            row = await row_of(execution)
            if row is None or row.status.terminal:
                continue
            crossed = [t for t in thresholds if row.created_at <= check.now - timedelta(days=t)]
            mine = await claims.claim(row.request_id, crossed, check.run_id)
            if mine:
                alerts.append(AgedRequest(row=row, threshold_days=mine[-1]))
        return AgingResult(alerts=alerts)

    def all(self) -> list[Callable[..., Any]]:
        return [self.claim_aging_alerts]
