"""AI activities that are not a desk's own step: triaging maintenance requests. (Risk
scoring is the order saga's ``score_order_risk`` step; a model's email prose is the
notification's ``write_order_email`` step.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from opsdesk.ai.models import TRIAGE_MAINTENANCE_REQUEST, TriageRequest, TriageResult
from opsdesk.ai.tasks import Triager


class AiActivities:
    def __init__(self, triager: Triager) -> None:
        self.triager = triager

    @activity.defn(name=TRIAGE_MAINTENANCE_REQUEST)
    async def triage_maintenance_request(self, request: TriageRequest) -> TriageResult:
        return await self.triager.triage(request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.triage_maintenance_request]
