"""Order models shared by the API, the workflows and the activities.

Pure data and rules about data: no I/O, so workflows may import this module (and the
sandbox passes it through). Money is integer cents.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from opsdesk.ai.models import AiUsage

MAX_LINES = 50
MAX_QUANTITY = 1000

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, to_lower=True)
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$", to_upper=True)]
# A client's id for one action (the API's Idempotency-Key); the API refuses a longer one.
REQUEST_ID_MAX_LENGTH = 100
RequestId = Annotated[str, StringConstraints(max_length=REQUEST_ID_MAX_LENGTH)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    REVIEW = "REVIEW"
    PAYMENT = "PAYMENT"
    ALLOCATING = "ALLOCATING"
    AWAITING_STOCK = "AWAITING_STOCK"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED}
)

# What "advance" means in each status where a person may advance the order.
ADVANCE_MEANS: dict[OrderStatus, str] = {
    OrderStatus.REVIEW: "approve",
    OrderStatus.AWAITING_STOCK: "retry allocation",
    OrderStatus.CONFIRMED: "mark shipped",
    OrderStatus.SHIPPED: "mark delivered",
}

CANCELLABLE = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.REVIEW,
        OrderStatus.PAYMENT,
        OrderStatus.ALLOCATING,
        OrderStatus.AWAITING_STOCK,
        OrderStatus.CONFIRMED,
    }
)


class Action(BaseModel):
    """A button: what a person may do to an order now."""

    kind: Literal["advance", "cancel"]
    label: str
    wants_tracking_number: bool = False


_ADVANCE_LABELS = {
    OrderStatus.REVIEW: "Approve",
    OrderStatus.AWAITING_STOCK: "Retry after restock",
    OrderStatus.CONFIRMED: "Mark shipped",
    OrderStatus.SHIPPED: "Mark delivered",
}


def actions_for(status: OrderStatus) -> list[Action]:
    """The actions the workflow's validators accept in ``status``, labelled for people."""
    actions = []
    if status in _ADVANCE_LABELS:
        actions.append(
            Action(
                kind="advance",
                label=_ADVANCE_LABELS[status],
                wants_tracking_number=status is OrderStatus.CONFIRMED,
            )
        )
    if status in CANCELLABLE:
        actions.append(
            Action(
                kind="cancel", label="Reject" if status is OrderStatus.REVIEW else "Cancel order"
            )
        )
    return actions


def why_not_advance(status: OrderStatus, expected: OrderStatus | None = None) -> str | None:
    """None when a person may advance an order in ``status``; otherwise the reason why not."""
    if expected is not None and expected is not status:
        return f"the order is {status.value} now, not {expected.value}; refresh and try again"
    if status in ADVANCE_MEANS:
        return None
    if status.terminal:
        return f"the order is {status.value}; there is nothing left to advance"
    return f"the order is in {status.value}, which the system completes on its own"


def why_not_cancel(status: OrderStatus) -> str | None:
    """None when a person may cancel an order in ``status``; otherwise the reason why not."""
    if status in CANCELLABLE:
        return None
    if status is OrderStatus.SHIPPED:
        return "the order has already shipped; it can no longer be cancelled (arrange a return)"
    return f"the order is already {status.value}"


# -- what a caller sends -------------------------------------------------------------------


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ShortText
    line1: ShortText
    line2: Annotated[str, StringConstraints(max_length=200)] = ""
    city: ShortText
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = ""
    country: CountryCode


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")]
    name: ShortText
    email: Email


class LineItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class OrderFields(BaseModel):
    """An order's contents, however it arrives (API, dashboard, shop webhook)."""

    customer: Customer
    lines: Annotated[list[LineItem], Field(min_length=1, max_length=MAX_LINES)]
    shipping_address: Address
    billing_country: CountryCode | None = None
    """Country of the card's billing address, when the shop knows it."""
    payment_token: Annotated[str, StringConstraints(pattern=r"^tok_[A-Za-z0-9_]{1,60}$")]
    note: Annotated[str, StringConstraints(max_length=1000)] = ""
    """Free text from the customer: data, never instructions."""

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> Self:
        skus = [line.sku for line in self.lines]
        duplicates = sorted({s for s in skus if skus.count(s) > 1})
        if duplicates:
            raise ValueError(f"each sku may appear on one line only: {', '.join(duplicates)}")
        return self


class OrderRequest(OrderFields):
    """An order with its id: what the workflow is started with."""

    order_id: OrderId


class OrderPolicy(BaseModel):
    """Deadlines, thresholds and contacts, fixed into each order when it starts so that a
    settings change never alters an order mid-flight (or its replay)."""

    review_timeout: timedelta = timedelta(hours=48)
    stock_timeout: timedelta = timedelta(hours=72)
    shipment_escalation: timedelta = timedelta(days=7)
    review_from: Annotated[int, Field(ge=0, le=100)] = 40
    """Risk scores from here up go to a person."""
    reject_from: Annotated[int, Field(ge=0, le=101)] = 80
    """Risk scores from here up are rejected outright."""
    ops_email: Email = "ops@opsdesk.local"
    support_email: Email = "support@opsdesk.local"
    ai_emails: bool = False
    """Have a model write the confirmation's prose (the template is the fallback)."""


class OrderInput(BaseModel):
    request: OrderRequest
    policy: OrderPolicy = OrderPolicy()


class AdvanceRequest(BaseModel):
    request_id: RequestId | None = None
    """Repeating a request id is a no-op: a retried click acts once."""
    expected_status: OrderStatus | None = None
    """The status the person saw. If the order has moved on since, the advance is refused
    rather than applied to a step they never saw (a stale page, a late message)."""
    actor: Annotated[str, StringConstraints(max_length=100)] = "ops"
    tracking_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9-]{1,64}$")]
        | None
    ) = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class CancelRequest(BaseModel):
    request_id: RequestId | None = None
    actor: Annotated[str, StringConstraints(max_length=100)] = "ops"
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


# -- what the steps produce ----------------------------------------------------------------


class PricedLine(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


class ValidatedOrder(BaseModel):
    lines: list[PricedLine]
    currency: str
    total_cents: int


RiskAction = Literal["approve", "review", "reject"]


class RiskAssessment(BaseModel):
    score: Annotated[int, Field(ge=0, le=100)]
    reason: str
    action: RiskAction
    provider: str = "rules"
    usage: AiUsage | None = None
    """The model call that produced it, when a model did."""
    fallback: bool = False
    """The configured scorer failed and the rules answered instead."""


class RiskRequest(BaseModel):
    """What the workflow hands the risk step; the step adds the customer's history."""

    request: OrderRequest
    validated: ValidatedOrder
    fallback_reason: str | None = None
    """Set when the configured scorer failed: score with the offline rules instead."""


class RiskInput(BaseModel):
    """Everything a risk scorer may look at."""

    order_id: str
    customer: Customer
    lines: list[PricedLine]
    total_cents: int
    currency: str
    shipping_address: Address
    billing_country: str | None
    previous_orders: int
    note: str


class Charge(BaseModel):
    charge_id: str
    amount_cents: int
    currency: str
    created_at: datetime


class Refund(BaseModel):
    refund_id: str
    charge_id: str
    amount_cents: int
    created_at: datetime


class ChargeInput(BaseModel):
    idempotency_key: str
    order_id: str
    customer_id: str
    payment_token: str
    amount_cents: int
    currency: str


class RefundInput(BaseModel):
    idempotency_key: str
    charge_id: str
    amount_cents: int
    reason: str


class ReserveInput(BaseModel):
    order_id: str
    lines: list[LineItem]


class Shortfall(BaseModel):
    sku: str
    wanted: int
    available: int


class ReserveResult(BaseModel):
    reserved: bool
    shortfalls: list[Shortfall] = []


class FulfilmentInput(BaseModel):
    order_id: str
    lines: list[PricedLine]
    ship_to: Address


FulfilmentStatus = Literal["requested", "shipped", "delivered", "cancelled"]


class FulfilmentUpdate(BaseModel):
    """What the warehouse hears after its request: the order shipped, or was delivered."""

    order_id: str
    status: Literal["shipped", "delivered"]
    tracking_number: str | None = None


class OrderClaim(BaseModel):
    """An order id, and the stamp of the workflow chain that runs it: the first run's id,
    which continue-as-new and resets keep and a new start under the same id does not."""

    order_id: str
    stamp: str


class RestockInput(BaseModel):
    idempotency_key: str
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


class RestockResult(BaseModel):
    sku: str
    stock: int
    waiting_orders: list[str]
    """Workflow ids of the orders that were waiting for this sku (to be woken)."""


def route(risk: RiskAssessment, policy: OrderPolicy) -> RiskAction:
    """Where a risk assessment sends the order. The score decides against the policy's
    thresholds; a scorer that recommends more caution than its score gets a person, never
    an outright rejection below the threshold."""
    if risk.score >= policy.reject_from:
        return "reject"
    if risk.score >= policy.review_from or risk.action != "approve":
        return "review"
    return "approve"


# -- the state a caller sees ---------------------------------------------------------------


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


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def order_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("order-")


# Activity names: workflows refer to activities by name so that they never import the
# modules that implement them (and their I/O).
VALIDATE_ORDER = "validate_order"
SCORE_ORDER_RISK = "score_order_risk"
CHARGE_PAYMENT = "charge_payment"
REFUND_PAYMENT = "refund_payment"
RESERVE_STOCK = "reserve_stock"
RELEASE_STOCK = "release_stock"
REQUEST_FULFILMENT = "request_fulfilment"
CANCEL_FULFILMENT = "cancel_fulfilment"
RESTOCK = "restock"
CLAIM_ORDER_ID = "claim_order_id"
UPDATE_FULFILMENT = "update_fulfilment"
