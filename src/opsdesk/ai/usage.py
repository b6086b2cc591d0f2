"""The log of every model call: what it cost and how it ended, for the order's page and
the metrics."""

from __future__ import annotations

from collections.abc import Mapping

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

    async def totals(self, prices: Mapping[str, tuple[float, float]] = LIST_PRICES) -> AiTotals:
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        AiCall.provider,
                        AiCall.model,
                        func.count(),
                        func.sum(case((AiCall.outcome != "ok", 1), else_=0)),
                        func.sum(AiCall.input_tokens),
                        func.sum(AiCall.output_tokens),
                    ).group_by(AiCall.provider, AiCall.model)
                )
            ).all()
        totals = AiTotals()
        for provider, model, calls, failed, tokens_in, tokens_out in rows:
            totals.calls += calls
            totals.failed += int(failed or 0)
            totals.input_tokens += int(tokens_in or 0)
            totals.output_tokens += int(tokens_out or 0)
            totals.by_model[f"{provider}/{model}"] = calls
            totals.estimated_cost_usd += cost_usd(
                model, int(tokens_in or 0), int(tokens_out or 0), prices
            )
        return totals
