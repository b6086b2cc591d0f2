"""An order's page in plain words: where the order stands, what happens next, and what
cancelling it would do (the confirmation says so before anything is done)."""

from __future__ import annotations

from opsdesk.orders.ids import order_label
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus
from opsdesk.values import format_money

_NEXT = {
    OrderStatus.PENDING: "Being checked and priced; a risk score follows.",
    OrderStatus.REVIEW: "Held for a person to review: approve it to take the payment, or "
    "reject it.",
    OrderStatus.PAYMENT: "Taking the payment.",
    OrderStatus.ALLOCATING: "Setting stock aside for it.",
    OrderStatus.AWAITING_STOCK: "Waiting for stock: it goes ahead by itself once the products "
    "are restocked.",
    OrderStatus.CONFIRMED: "Paid and with the warehouse: mark it shipped with the tracking "
    "number once it leaves.",
    OrderStatus.SHIPPED: "On its way to the customer: mark it delivered when it arrives.",
    OrderStatus.DELIVERED: "Delivered. Nothing more happens to it.",
    OrderStatus.CANCELLED: "Cancelled. Nothing more happens to it.",
    OrderStatus.REJECTED: "Rejected. Nothing more happens to it.",
    OrderStatus.FAILED: "Stopped by a problem (below). Nothing more happens to it.",
}


def event_words(status: OrderStatus) -> str:
    """A step of the order's timeline in words: ``Waiting for stock``."""
    return status.words[0].upper() + status.words[1:]


def next_step(state: OrderState) -> str:
    """One sentence: where the order stands and what happens next."""
    return _NEXT.get(state.status, "")


def cancel_title(state: OrderState) -> str:
    """The confirmation's question: ``Reject order #1043?`` in review, else ``Cancel …``."""
    verb = "Reject" if state.status is OrderStatus.REVIEW else "Cancel"
    return f"{verb} order {order_label(state.order_id)}?"


def cancel_effects(state: OrderState) -> list[str]:
    """What cancelling the order does now, one sentence each: the money, the stock, the
    warehouse, and who is emailed."""
    money = state.currency
    refunded = sum(r.amount_cents for r in state.refunds)
    charged = state.charge.amount_cents if state.charge else 0
    effects = []
    if charged > refunded:
        effects.append(
            f"The payment of {format_money(charged - refunded, money)} is refunded in full "
            "to the customer's card."
        )
    elif state.status is OrderStatus.PAYMENT:
        effects.append("The payment being taken now is refunded in full if it went through.")
    else:
        effects.append("Nothing has been charged, so there is nothing to refund.")
    items = sum(line.quantity for line in state.lines)
    if state.status is OrderStatus.CONFIRMED:
        effects.append(
            f"The {items} item{'s' if items != 1 else ''} set aside for it go back into stock, "
            "and the warehouse is told not to ship it."
        )
    elif state.status in (OrderStatus.ALLOCATING, OrderStatus.AWAITING_STOCK):
        effects.append("It stops waiting for stock; whatever was set aside goes back.")
    else:
        effects.append("No stock has been set aside for it yet.")
    refund = " and the refund" if charged > refunded or state.status is OrderStatus.PAYMENT else ""
    effects.append(
        f"{state.customer.name} ({state.customer.email}) is emailed that the order is "
        f"cancelled{refund}."
    )
    effects.append("This cannot be undone.")
    return effects
