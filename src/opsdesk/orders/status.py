"""An order's status, and which statuses end it."""

from __future__ import annotations

from enum import StrEnum


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
