"""The worker's Temporal SDK metrics for Prometheus: a worker connected with
``metrics_runtime`` serves task latencies and slots for its task queues while it works, and
the counters the workflows keep (orders created and ended), once each however often a
workflow is replayed."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inputs import CancelRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import cancel_order, start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.monitoring import (
    WORKFLOW_COUNTERS,
    dashboard_metrics,
    metered_client,
    missing_from,
    scrape,
    series,
)
from tests.orders.factory import order_request
from tests.orders.helpers import wait_for_status


async def test_the_worker_serves_the_sdks_metrics(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    client, address = await metered_client(dev_env, settings)
    # No sticky cache: the worker replays the order's whole history at every workflow task,
    # so a counter the replays bumped would read more than one.
    replaying = settings.model_copy(update={"worker_cache": 0})
    async with running(build_workers(client, db, replaying)):
        request = order_request([LineItem(sku="MUG-01", quantity=1)])
        handle = await start_order(client, settings, request)
        await wait_for_status(handle, OrderStatus.CONFIRMED)
        await cancel_order(client, request.order_id, CancelRequest(), wait=timedelta(seconds=30))
        await wait_for_status(handle, OrderStatus.CANCELLED)

        body = await scrape(address, until="opsdesk_orders_ended")
    queue = f'task_queue="{settings.orders_task_queue}"'
    lines = [line for line in body.splitlines() if queue in line]
    assert series(body, "opsdesk_") == {
        "opsdesk_orders_created_total{}": 1,
        "opsdesk_orders_ended_total{status=CANCELLED}": 1,
    }
    assert any(line.startswith("temporal_workflow_task_execution_latency") for line in lines)
    assert any(line.startswith("temporal_activity_execution_latency") for line in lines)
    assert any(line.startswith("temporal_worker_task_slots_available") for line in lines)
    # The shipped Grafana dashboard reads only metrics a worker serves.
    wanted = dashboard_metrics("temporal_")
    assert len(wanted) >= 4
    assert missing_from(body, wanted) == []
    ours = dashboard_metrics("opsdesk_orders_") & WORKFLOW_COUNTERS
    assert len(ours) == 2
    assert missing_from(body, ours) == []
