"""The throughput benchmark's baseline: an order's shape with nothing inside.

Its own module, importing only what a workflow module may: the sandbox re-imports a
workflow's module for every run, and the baseline must not pay for the benchmark's imports.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from opsdesk.orders.inputs import AdvanceRequest
    from opsdesk.orders.status import OrderStatus

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=5)


@activity.defn
async def noop(step: str) -> str:
    return step


@workflow.defn
class BaselineEmail:
    @workflow.run
    async def run(self, kind: str) -> None:
        for step in ("compose", "record", "deliver"):
            await workflow.execute_activity(
                noop, f"{kind}:{step}", start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )


@workflow.defn
class BaselineOrder:
    """An order's shape with nothing inside."""

    def __init__(self) -> None:
        self.status = OrderStatus.PENDING
        self.pending: OrderStatus | None = None

    @workflow.run
    async def run(self, order_id: str) -> None:
        for step in ("validate", "score", "charge", "reserve", "fulfil"):
            await workflow.execute_activity(
                noop, step, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        await self._email(order_id, "confirmation")
        self.status = OrderStatus.CONFIRMED
        # The shipment deadline's timer, cancelled when the order ships.
        await workflow.wait_condition(lambda: self.pending is not None, timeout=timedelta(days=7))
        self._take()
        await self._email(order_id, "shipped")
        await workflow.wait_condition(lambda: self.pending is not None)
        self._take()

    def _take(self) -> None:
        assert self.pending is not None
        self.status, self.pending = self.pending, None

    async def _email(self, order_id: str, kind: str) -> None:
        await workflow.start_child_workflow(
            BaselineEmail.run,
            kind,
            id=f"{workflow.info().workflow_id}-{kind}",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )

    @workflow.query
    def get_state(self) -> dict[str, str]:
        return {"status": self.status.value}

    @workflow.update
    async def advance(self, request: AdvanceRequest) -> dict[str, str]:
        nxt = {
            OrderStatus.CONFIRMED: OrderStatus.SHIPPED,
            OrderStatus.SHIPPED: OrderStatus.DELIVERED,
        }[self.status]
        self.pending = nxt
        await workflow.wait_condition(lambda: self.status is nxt)
        return {"status": self.status.value}

    @advance.validator
    def _can_advance(self, request: AdvanceRequest) -> None:
        if self.status not in (OrderStatus.CONFIRMED, OrderStatus.SHIPPED):
            raise ApplicationError(f"cannot advance while {self.status.value}")
