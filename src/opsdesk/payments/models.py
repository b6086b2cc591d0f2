"""What the payment gateway takes and returns. No I/O: workflows import this module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
    """A refund of one charge, named by its id or by the idempotency key it was asked for
    under (``charge_key``): a charge whose answer never came back has no id to name."""

    idempotency_key: str
    charge_id: str | None = None
    charge_key: str | None = None
    amount_cents: int | None = None
    """None: all that is left of the charge."""
    reason: str


class PayoutInput(BaseModel):
    """Money out to a vendor for one request; one payout per idempotency key."""

    idempotency_key: str
    request_id: str
    vendor_id: str
    amount_cents: int
    currency: str
    property_id: str | None = None
    """The property the work was done at, for the payouts by property and month."""
    invoice_number: str | None = None
    """The vendor's own number for the invoice paid; None for an amount-only invoice."""
    document_key: str | None = None
    """The invoice document's key in the blob store."""


class Payout(BaseModel):
    payout_id: str
    vendor_id: str
    amount_cents: int
    currency: str
    created_at: datetime
    invoice_number: str | None = None
