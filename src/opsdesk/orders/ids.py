"""Order ids and the workflow ids made from them."""

from __future__ import annotations

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
TRACKING_NUMBER_PATTERN = r"^[A-Za-z0-9-]{1,64}$"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def order_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("order-")
