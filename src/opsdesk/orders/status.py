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

    @property
    def words(self) -> str:
        """The status as a sentence says it: ``waiting for stock``."""
        return ORDER_STATUS_WORDS[self]


TERMINAL = frozenset(
    {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED}
)

ORDER_STATUS_WORDS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "being checked",
    OrderStatus.REVIEW: "held for a person to review",
    OrderStatus.PAYMENT: "taking payment",
    OrderStatus.ALLOCATING: "reserving stock",
    OrderStatus.AWAITING_STOCK: "waiting for stock",
    OrderStatus.CONFIRMED: "confirmed, to be shipped",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.FAILED: "stopped on a failure, for a person to look at",
}


# What "advance" means in each status where a person may advance the order.
