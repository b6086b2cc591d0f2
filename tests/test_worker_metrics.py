"""The worker's Temporal SDK metrics for Prometheus: a worker connected with
``metrics_runtime`` serves task latencies and slots for its task queues while it works."""

from __future__ import annotations

import httpx
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inputs import LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect, metrics_runtime
from opsdesk.worker import build_workers, running
from tests.conftest import free_port
from tests.monitoring import dashboard_metrics, missing_from
from tests.orders.factory import order_request
from tests.orders.helpers import wait_for_status
from tests.waiting import eventually


async def test_the_worker_serves_the_sdks_metrics(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    address = f"127.0.0.1:{free_port()}"
    target = dev_env.client.service_client.config.target_host
    host, port = target.rsplit(":", 1)
    at_the_dev_server = settings.model_copy(update={"host": host, "temporal_port": int(port)})
    client = await connect(at_the_dev_server, runtime=metrics_runtime(address))
    async with running(build_workers(client, db, settings)):
        request = order_request([LineItem(sku="MUG-01", quantity=1)])
        handle = await start_order(client, settings, request)
        await wait_for_status(handle, OrderStatus.CONFIRMED)

        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            text = await eventually(
                lambda: http.get("/metrics"),
                lambda r: "temporal_activity_execution_latency" in r.text,
            )
    body = text.text
    queue = f'task_queue="{settings.orders_task_queue}"'
    lines = [line for line in body.splitlines() if queue in line]
    assert any(line.startswith("temporal_workflow_task_execution_latency") for line in lines)
    assert any(line.startswith("temporal_activity_execution_latency") for line in lines)
    assert any(line.startswith("temporal_worker_task_slots_available") for line in lines)
    # The shipped Grafana dashboard reads only metrics a worker serves.
    wanted = dashboard_metrics("temporal_")
    assert len(wanted) >= 4
    assert missing_from(body, wanted) == []
