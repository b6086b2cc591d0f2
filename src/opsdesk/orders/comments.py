"""Comments on orders: the JSON API at ``/api/orders/{id}/comments`` (see
``opsdesk.comments`` for what a comment is)."""

from __future__ import annotations

from fastapi import Request

from opsdesk.orders import service as orders
from opsdesk.orders.api import known_id
from opsdesk.web.comments import comment_routes
from opsdesk.web.deps import client_of
from opsdesk.web.errors import ApiError


async def existing_order(request: Request, order_id: str) -> str:
    """The order's id, if Temporal knows the order (running or kept after it ended)."""
    if not await orders.order_exists(client_of(request), known_id(order_id)):
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    return order_id


router = comment_routes(
    "order", "/api/orders/{subject_id}/comments", existing_order, "order", ["orders"]
)
