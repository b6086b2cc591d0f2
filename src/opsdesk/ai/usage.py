"""The log of every model call: what it cost and how it ended, for the order's page and
the metrics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import case, func, select

from opsdesk.ai.models import AiUsage
from opsdesk.ai.pricing import LIST_PRICES, cost_usd
from opsdesk.db import Database
from opsdesk.db.tables import AiCall


class AiCallEntry(BaseModel):
    usage: AiUsage
    outcome: str
    detail: str


class AiTotals(BaseModel):
    calls: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    by_model: dict[str, int] = {}
    """Calls per ``provider/model``."""
    by_task: dict[str, int] = {}
    """Calls per task (risk, email, triage, …)."""
    estimated_cost_usd: float = 0.0
    """From the tokens at each model's price (``opsdesk.ai.pricing``)."""


class UsageLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, reference: str, usage: AiUsage, outcome: str, detail: str = "") -> None:
        async with self.db.transaction() as session:
            session.add(
                AiCall(
                    reference=reference,
                    task=usage.task,
                    provider=usage.provider,
                    model=usage.model,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    latency_ms=usage.latency_ms,
                    outcome=outcome,
                    detail=detail[:2000],
                )
            )

    async def for_reference(self, reference: str) -> list[AiCallEntry]:
        async with self.db.transaction() as session:
            rows = await session.scalars(
                select(AiCall).where(AiCall.reference == reference).order_by(AiCall.id)
            )
            return [
                AiCallEntry(
                    usage=AiUsage(
                        provider=r.provider,
                        model=r.model,
                        task=r.task,
                        input_tokens=r.input_tokens,
                        output_tokens=r.output_tokens,
                        latency_ms=r.latency_ms,
                    ),
                    outcome=r.outcome,
                    detail=r.detail,
                )
                for r in rows
            ]

    async def totals(
        self,
        prices: Mapping[str, tuple[float, float]] = LIST_PRICES,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AiTotals:
        """Every call's totals, or those made from ``since`` until before ``until``."""
        query = select(
            AiCall.provider,
            AiCall.model,
            AiCall.task,
            func.count(),
            func.sum(case((AiCall.outcome != "ok", 1), else_=0)),
            func.sum(AiCall.input_tokens),
            func.sum(AiCall.output_tokens),
        ).group_by(AiCall.provider, AiCall.model, AiCall.task)
        if since is not None:
            query = query.where(AiCall.created_at >= since)
        if until is not None:
            query = query.where(AiCall.created_at < until)
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).all()
        totals = AiTotals()
        for provider, model, task, calls, failed, summed_in, summed_out in rows:
            tokens_in, tokens_out = int(summed_in or 0), int(summed_out or 0)
            totals.calls += calls
            totals.failed += int(failed or 0)
            totals.input_tokens += tokens_in
            totals.output_tokens += tokens_out
            name = f"{provider}/{model}"
            totals.by_model[name] = totals.by_model.get(name, 0) + calls
            totals.by_task[task] = totals.by_task.get(task, 0) + calls
            totals.estimated_cost_usd += cost_usd(model, tokens_in, tokens_out, prices)
        return totals
