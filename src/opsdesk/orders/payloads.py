"""What the order's activities take and give back. Pure data: workflows import it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from opsdesk.ai.models import AiUsage
from opsdesk.orders.inputs import Address, Customer, LineItem, OrderRequest, Sku


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
