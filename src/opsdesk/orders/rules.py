"""Which actions each status allows, and where a risk score sends an order."""

from __future__ import annotations

from opsdesk.orders.inputs import OrderPolicy
from opsdesk.orders.payloads import RiskAction, RiskAssessment
from opsdesk.orders.status import OrderStatus

# Where a person may advance the order; the system completes the other statuses itself.
ADVANCEABLE = frozenset(
    {
        OrderStatus.REVIEW,
        OrderStatus.AWAITING_STOCK,
        OrderStatus.CONFIRMED,
        OrderStatus.SHIPPED,
    }
)


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


def why_not_advance(status: OrderStatus, expected: OrderStatus | None = None) -> str | None:
    """None when a person may advance an order in ``status``; otherwise the reason why not."""
    if expected is not None and expected is not status:
        return (
            f"the order has moved on: it is {status.words} now (you saw: {expected.words}); "
            "look at it again"
        )
    if status in ADVANCEABLE:
        return None
    if status.terminal:
        return f"the order is {status.words}; there is nothing left to advance"
    return f"the order is {status.words}, a step the desk completes on its own"


def why_not_cancel(status: OrderStatus) -> str | None:
    """None when a person may cancel an order in ``status``; otherwise the reason why not."""
    if status in CANCELLABLE:
        return None
    if status is OrderStatus.SHIPPED:
        return "the order has already shipped; it can no longer be cancelled (arrange a return)"
    return f"the order is already {status.words}"


def route(risk: RiskAssessment, policy: OrderPolicy) -> RiskAction:
    """Where a risk assessment sends the order. The score decides against the policy's
    thresholds; a scorer that recommends more caution than its score gets a person, never
    an outright rejection below the threshold."""
    if risk.score >= policy.reject_from:
        return "reject"
    if risk.score >= policy.review_from or risk.action != "approve":
        return "review"
    return "approve"
