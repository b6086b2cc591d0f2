"""The words people see for an order's actions: the API's and the dashboard's buttons."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from opsdesk.orders.rules import CANCELLABLE
from opsdesk.orders.status import OrderStatus


class Action(BaseModel):
    """A button: what a person may do to an order now."""

    kind: Literal["advance", "cancel"]
    label: str
    wants_tracking_number: bool = False


_ADVANCE_LABELS = {
    OrderStatus.REVIEW: "Approve",
    OrderStatus.AWAITING_STOCK: "Retry after restock",
    OrderStatus.CONFIRMED: "Mark shipped",
    OrderStatus.SHIPPED: "Mark delivered",
}


def actions_for(status: OrderStatus) -> list[Action]:
    """The actions the workflow's validators accept in ``status``, labelled for people."""
    actions = []
    if status in _ADVANCE_LABELS:
        actions.append(
            Action(
                kind="advance",
                label=_ADVANCE_LABELS[status],
                wants_tracking_number=status is OrderStatus.CONFIRMED,
            )
        )
    if status in CANCELLABLE:
        actions.append(
            Action(
                kind="cancel", label="Reject" if status is OrderStatus.REVIEW else "Cancel order"
            )
        )
    return actions
