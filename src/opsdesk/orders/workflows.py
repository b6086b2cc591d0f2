"""Order workflows. Deterministic: models and constants only, no I/O."""

from __future__ import annotations

from temporalio import workflow

from opsdesk.temporal import search_attributes as sa


@workflow.defn
class OrderWorkflow:
    """First cut: holds an order open until it is cancelled. The lifecycle comes next."""

    def __init__(self) -> None:
        self._status = "PENDING"

    @workflow.run
    async def run(self, order_id: str) -> str:
        workflow.upsert_search_attributes([sa.ORDER_STATUS.value_set(self._status)])
        await workflow.wait_condition(lambda: self._status == "CANCELLED")
        workflow.upsert_search_attributes([sa.ORDER_STATUS.value_set(self._status)])
        return self._status

    @workflow.signal
    def request_cancel(self) -> None:
        self._status = "CANCELLED"

    @workflow.query
    def get_state(self) -> dict[str, str]:
        return {"status": self._status}
