"""Order ids and the workflow ids made from them."""

from __future__ import annotations

from opsdesk.values import pattern

ORDER_ID_PATTERN = pattern(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
    "up to 64 letters, digits, dashes and underscores, starting with a letter or digit",
)
TRACKING_NUMBER_PATTERN = pattern(
    r"^[A-Za-z0-9-]{1,64}$", "the carrier's tracking number: letters, digits and dashes"
)
FIRST_ORDER_NUMBER = 1001
"""The first number the desk gives an order made without an id of its own (``#1001``)."""


def numbered_order_id(number: int) -> str:
    """The id of the order the desk gave ``number``: the number itself (``"1043"``)."""
    return str(number)


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def order_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("order-")


def order_label(order_id: str) -> str:
    """An order as people name it: ``#1043`` for an order the desk numbered, a shop's or a
    client's own id as it is (``shop-5521``)."""
    return f"#{order_id}" if order_id.isdigit() else order_id
