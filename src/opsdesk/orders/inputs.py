"""What callers send: an order (API, dashboard, shop webhook, Temporal CLI), what it is
started with, and people's requests to advance or cancel it. Pure data: workflows import it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from opsdesk.orders.ids import ORDER_ID_PATTERN, TRACKING_NUMBER_PATTERN
from opsdesk.orders.status import OrderStatus
from opsdesk.values import Email, pattern

MAX_LINES = 50
MAX_QUANTITY = 1000

CUSTOMER_ID_PATTERN = pattern(
    r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$",
    "up to 64 letters, digits and . _ @ + -, starting with a letter or digit",
)
Sku = Annotated[
    str,
    StringConstraints(
        pattern=pattern(r"^[A-Z0-9][A-Z0-9-]{0,31}$", "a SKU: capital letters, digits and dashes")
    ),
]
OrderId = Annotated[str, StringConstraints(pattern=ORDER_ID_PATTERN)]
CountryCode = Annotated[
    str,
    StringConstraints(
        pattern=pattern(r"^[A-Z]{2}$", "a two-letter country code such as US"), to_upper=True
    ),
]
# A client's id for one action (the API's Idempotency-Key); the API refuses a longer one.
REQUEST_ID_MAX_LENGTH = 100
RequestId = Annotated[str, StringConstraints(max_length=REQUEST_ID_MAX_LENGTH)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


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

    id: Annotated[
        str,
        StringConstraints(pattern=CUSTOMER_ID_PATTERN),
    ]
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
    payment_token: Annotated[
        str,
        StringConstraints(
            pattern=pattern(
                r"^tok_[A-Za-z0-9_]{1,60}$", "a payment token from the payment form (tok_...)"
            )
        ),
    ]
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
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=TRACKING_NUMBER_PATTERN)]
        | None
    ) = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class CancelRequest(BaseModel):
    request_id: RequestId | None = None
    actor: Annotated[str, StringConstraints(max_length=100)] = "ops"
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
