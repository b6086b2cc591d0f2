"""The order a caller sees: its state and timeline (the workflow's own), the row a list
shows, and what is known of an order whose workflow is stuck."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from opsdesk.ai.models import AiUsage
from opsdesk.orders.inputs import Address, Customer, OrderPolicy, OrderRequest
from opsdesk.orders.payloads import PricedLine, RiskAssessment
from opsdesk.orders.status import OrderStatus
from opsdesk.payments.models import Charge, Refund


class Transition(BaseModel):
    at: datetime
    status: OrderStatus
    actor: str
    note: str = ""


class OrderState(BaseModel):
    order_id: str
    status: OrderStatus
    customer: Customer
    shipping_address: Address
    lines: list[PricedLine] = []
    currency: str = "USD"
    total_cents: int = 0
    risk: RiskAssessment | None = None
    charge: Charge | None = None
    refunds: list[Refund] = []
    tracking_number: str | None = None
    escalated: bool = False
    last_error: str | None = None
    history: list[Transition] = []
    ai_calls: list[AiUsage] = []
    """Model calls the order's own steps made, with their cost."""
    policy: OrderPolicy | None = None
    """The deadlines and risk thresholds fixed into the order when it started (none on an
    order that has not run a step yet)."""
    created_at: datetime
    updated_at: datetime

    @classmethod
    def received(cls, request: OrderRequest, at: datetime) -> OrderState:
        """The state of an order the moment it arrives, before any step has run."""
        return cls(
            order_id=request.order_id,
            status=OrderStatus.PENDING,
            customer=request.customer,
            shipping_address=request.shipping_address,
            created_at=at,
            updated_at=at,
            history=[
                Transition(at=at, status=OrderStatus.PENDING, actor="system", note="received")
            ],
        )

    def row(self) -> OrderRow:
        return OrderRow(
            order_id=self.order_id,
            status=self.status,
            customer_id=self.customer.id,
            customer_name=self.customer.name,
            customer_email=self.customer.email,
            items=sum(line.quantity for line in self.lines),
            total_cents=self.total_cents,
            currency=self.currency,
            risk_score=self.risk.score if self.risk else None,
            escalated=self.escalated,
            tracking_number=self.tracking_number,
            last_error=self.last_error,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


class OrderRow(BaseModel):
    """What a list shows of one order: kept in the workflow's memo, so that a page of
    orders is one visibility call."""

    order_id: str
    status: OrderStatus
    customer_id: str
    customer_name: str
    customer_email: str
    items: int
    total_cents: int
    currency: str
    risk_score: int | None
    escalated: bool
    tracking_number: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class StuckOrder(BaseModel):
    """An order whose workflow cannot take its next step (its workflow task keeps failing,
    for example on input that does not decode): what visibility knows, and why."""

    order_id: str
    status: OrderStatus | None
    """As the workflow last published it; None if it never ran a step."""
    stuck: Literal[True] = True
    reason: str
    attempts: int
    """Workflow task attempts so far: the worker retries it until the code is fixed."""
    since: datetime | None
    row: OrderRow | None
    """The list row the workflow last published, if it ever did."""


# -- one round trip for a new order (issue 28, item 3) -----------------------------------------

INTAKE_MEMO = "intake"
"""Memo key: the fingerprint of the submission the order was started with (what makes a
retry the same order, ``service.fingerprint``)."""
STARTED_BY_MEMO = "intake_update"
"""Memo key: the update id of the submission whose start created the order, so that the
order can tell that submission from its retries."""
INTAKE_CONFLICT = "IntakeConflict"
"""The failure type of a submission refused for naming an order that has other contents."""


class Submitted(BaseModel):
    """What the order answers a submission with (``OrderWorkflow.submitted``)."""

    state: OrderState
    """Once its lines are priced, or it has ended without."""
    created: bool
    """Whether this submission started the order (False for a retry of one that did)."""
