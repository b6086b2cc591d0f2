"""A submission is one call to Temporal: update-with-start starts a new order and answers
with its priced state, and a retry with the same id is answered by the same workflow run in
one call too (issue 28, item 3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateHandle,
)
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders import service
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import IntakeConflict, order_handle, submit_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.settings import Settings
from opsdesk.temporal.client import data_converter
from opsdesk.worker import build_workers, running
from tests.orders.factory import HIGH_RISK, LOW_RISK, order_request


class Calls(Interceptor):
    """Every call the client makes to Temporal, by name, and the run each update-with-start
    reached."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.runs: list[str | None] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        calls = self

        class Counting(OutboundInterceptor):
            def __getattribute__(self, name: str) -> Any:
                found = super().__getattribute__(name)
                if callable(found) and not name.startswith("_"):
                    calls.made.append(name)
                return found

            async def start_update_with_start_workflow(
                self, input: StartWorkflowUpdateWithStartInput
            ) -> WorkflowUpdateHandle[Any]:
                handle = await super().start_update_with_start_workflow(input)
                calls.runs.append(handle.workflow_run_id)
                return handle

        return Counting(next)

    def take(self) -> list[str]:
        made, self.made = self.made, []
        return made


@pytest.fixture(params=["time_env", "dev_env"])
def env(request: pytest.FixtureRequest) -> WorkflowEnvironment:
    """Both test servers: they tell of a finished order in different ways (the dev server
    as a cluster does, the time-skipping one with a bare ALREADY_EXISTS)."""
    server: WorkflowEnvironment = request.getfixturevalue(request.param)
    return server


async def test_a_new_order_and_its_retry_are_each_one_call_to_the_same_run(
    env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = Calls()
    config = env.client.config()
    config["interceptors"] = [*config["interceptors"], calls]
    # Encrypted as in production: the order reads its memo through the codec.
    config["data_converter"] = data_converter(settings)
    client = Client(**config)
    order = order_request(LOW_RISK)
    # No worker yet: the submission is not answered, so it is read as it arrived.
    monkeypatch.setattr(service, "QUERY_TIMEOUT", timedelta(seconds=1))
    early = order_request(LOW_RISK)
    first, created = await submit_order(client, settings, early)
    assert (first.status, first.lines, created) == (S.PENDING, [], True)
    retried, created = await submit_order(client, settings, early)
    assert (retried.status, created) == (S.PENDING, False)
    calls.take()

    async with running(build_workers(client, db, settings)):
        # Once a worker has it, a retry of the unanswered order is one call again.
        priced, created = await submit_order(client, settings, early)
        assert (bool(priced.lines), created) == (True, False)
        assert calls.take() == ["start_update_with_start_workflow"]
        calls.runs.clear()

        state, created = await submit_order(client, settings, order)
        assert created
        # Answered priced, not with the empty lines of an order no step has seen yet.
        assert [line.sku for line in state.lines] == ["MUG-01", "TEE-M"]
        assert calls.take() == ["start_update_with_start_workflow"]

        again, created = await submit_order(client, settings, order)
        assert not created
        assert again.order_id == order.order_id
        assert again.total_cents == state.total_cents
        assert calls.take() == ["start_update_with_start_workflow"]
        run_id = (await order_handle(client, order.order_id).describe()).run_id
        assert calls.runs == [run_id, run_id]
        calls.take()

        # The same id with other contents is refused before the order hears of it: the
        # two submissions above are the only ones it took.
        changed = order.model_copy(update={"note": "a different order"})
        with pytest.raises(IntakeConflict, match="already exists with different contents"):
            await submit_order(client, settings, changed)
        assert calls.take() == ["start_update_with_start_workflow"]
        history = await order_handle(env.client, order.order_id).fetch_history()
        taken = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        assert taken == ["submitted", "submitted"]

        # A finished order is not started again: its retry reads it, a changed one is refused.
        rejected = order_request(HIGH_RISK, billing_country="US")
        _, created = await submit_order(client, settings, rejected)
        assert created
        assert (await order_handle(client, rejected.order_id).result()).status is S.REJECTED
        late, created = await submit_order(client, settings, rejected)
        assert (late.status, created) == (S.REJECTED, False)
        with pytest.raises(IntakeConflict):
            await submit_order(client, settings, rejected.model_copy(update={"note": "other"}))
