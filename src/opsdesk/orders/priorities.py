"""Whose orders take turns when the order workers are busy: Temporal's fairness keys.

Within one priority Temporal hands a backlogged task queue's tasks out fairly between
fairness keys, so a burst from one source waits its turn beside the others instead of
ahead of them. An order names no shop of its own (the desk has one webhook and one secret),
so the key is where the order came from, as its id tells: the shop's webhook (``shop-...``),
the desk's own numbering (the dashboard and API clients without an id of their own), or an
API client's own id. Every order keeps the default priority: none is an emergency.
"""

from __future__ import annotations

from temporalio.common import Priority

from opsdesk.orders.inputs import OrderRequest

SHOP_PREFIX = "shop-"
"""What the shop webhook puts before the shop's own order id (``api.shop_webhook``)."""


def order_channel(order_id: str) -> str:
    """Where an order came from, by its id: ``shop``, ``desk`` or ``api``."""
    if order_id.startswith(SHOP_PREFIX):
        return "shop"
    return "desk" if order_id.isdigit() else "api"


def order_priority(request: OrderRequest) -> Priority:
    """The order's task priority: the default, fairly shared between its channels."""
    return Priority(fairness_key=f"orders:{order_channel(request.order_id)}")
