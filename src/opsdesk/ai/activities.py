"""AI activities that are not a desk's own step: writing customer emails, triaging
maintenance requests. (Risk scoring is the order saga's ``score_order_risk`` step.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from opsdesk.ai.models import (
    TRIAGE_MAINTENANCE_REQUEST,
    WRITE_ORDER_EMAIL,
    TriageRequest,
    TriageResult,
)
from opsdesk.ai.tasks import OrderEmailWriter, Triager
from opsdesk.notify.models import EmailContent, Notification


class AiActivities:
    def __init__(self, writer: OrderEmailWriter, triager: Triager) -> None:
        self.writer = writer
        self.triager = triager

    @activity.defn(name=WRITE_ORDER_EMAIL)
    async def write_order_email(self, notification: Notification) -> EmailContent:
        return await self.writer.write(notification)

    @activity.defn(name=TRIAGE_MAINTENANCE_REQUEST)
    async def triage_maintenance_request(self, request: TriageRequest) -> TriageResult:
        return await self.triager.triage(request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.write_order_email, self.triage_maintenance_request]
