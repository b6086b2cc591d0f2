"""A worker killed mid-saga: the order still finishes, and the database shows each side
effect exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inputs import AdvanceRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import CHARGE_PAYMENT
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import data_converter
from tests.conftest import STACKS
from tests.orders.factory import order_request
from tests.orders.helpers import wait_for_status
from tests.orders.records import Records
from tests.waiting import eventually

pytestmark = STACKS


async def attempts_of(handle: WorkflowHandle[Any, Any], activity: str) -> list[int]:
    """The attempt number of each start of ``activity`` in the workflow's history."""
    scheduled: dict[int, str] = {}
    attempts = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attrs.activity_type.name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            if scheduled.get(started.scheduled_event_id) == activity:
                attempts.append(started.attempt)
    return attempts


@contextmanager
def worker_process(
    env: WorkflowEnvironment, settings: Settings
) -> Iterator[subprocess.Popen[bytes]]:
    """``opsdesk worker`` as production runs it, against the test's server and database."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OPSDESK_"))}
    environ |= {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "OPSDESK_DATABASE_URL": settings.resolved_database_url,
        # The payload key is generated into the data directory, read by the test's client.
        "OPSDESK_DATA_DIR": str(settings.data_dir),
        "OPSDESK_ORDERS_TASK_QUEUE": settings.orders_task_queue,
        "OPSDESK_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen([sys.executable, "-m", "opsdesk", "worker"], env=environ)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def test_killed_worker_finishes_the_order_with_each_effect_once(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    # tok_slow: the charge is captured, then the processor takes seconds to answer; the
    # worker dies in between, so the retried step meets a charge that already exists.
    request = order_request(
        [LineItem(sku="MUG-01", quantity=2), LineItem(sku="TEE-M", quantity=1)],
        token="tok_slow",
    )
    # The client encrypts and decrypts as the production worker does.
    client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=data_converter(settings),
    )
    handle = await start_order(client, settings, request)

    with worker_process(dev_env, settings) as first:
        await eventually(lambda: records.charges(request.order_id), bool, timeout=60)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)

    with worker_process(dev_env, settings) as second:
        await wait_for_status(handle, S.CONFIRMED, timeout=120)
        await eventually(lambda: records.emails(request.order_id, "confirmation"), bool, timeout=60)
        second.send_signal(signal.SIGKILL)
        await asyncio.to_thread(second.wait, 30)

    with worker_process(dev_env, settings):
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(tracking_number="1Z7"))
        await wait_for_status(handle, S.SHIPPED, timeout=120)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
        final = await asyncio.wait_for(handle.result(), 120)
        await records.wait_for_email(request.order_id, "shipped")
        confirmation = await eventually(
            lambda: records.emails(request.order_id, "confirmation"),
            lambda found: found[0].status != "queued",
            timeout=60,
        )

    assert final.status is S.DELIVERED
    # The charge step really ran twice: the kill landed while it was in flight. (History
    # keeps only the start of the attempt that finished.)
    assert await attempts_of(handle, CHARGE_PAYMENT) == [2]
    assert len(await records.charges(request.order_id)) == 1
    assert await records.payment_attempts(request.order_id) == ["captured"]
    reservations = await records.reservations(request.order_id)
    assert sorted((r.sku, r.quantity) for r in reservations) == [("MUG-01", 2), ("TEE-M", 1)]
    assert await records.stock("MUG-01") == 98
    assert await records.fulfilment(request.order_id) == "delivered"
    assert len(confirmation) == 1
    assert [e.template for e in await records.emails(request.order_id)] == [
        "orders/confirmation",
        "orders/shipped",
    ]
