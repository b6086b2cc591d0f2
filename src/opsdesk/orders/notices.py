"""What an order's notices say: the facts its email templates are filled from, and
deadlines in words. Pure functions of the order's state: the workflow calls them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.orders.ids import order_label
from opsdesk.orders.state import OrderState
from opsdesk.values import format_money


def order_facts(state: OrderState) -> dict[str, Any]:
    """The order as its emails show it, as it is now."""
    return {
        "order_id": state.order_id,
        "order_label": order_label(state.order_id),
        "status": state.status.value,
        "customer_name": state.customer.name,
        "customer_email": state.customer.email,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "line_total": format_money(line.total_cents, state.currency),
            }
            for line in state.lines
        ],
        "total": format_money(state.total_cents, state.currency),
        "tracking_number": state.tracking_number,
        "risk_score": state.risk.score if state.risk else None,
        "risk_reason": state.risk.reason if state.risk else "risk could not be scored",
    }


def humanize(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours > 72 and hours % 24 == 0:  # "48 hours", "72 hours", but "7 days"
        return f"{int(hours // 24)} days"
    if hours >= 1:
        return f"{hours:g} hours"
    return f"{delta.total_seconds():g} seconds"
