"""The commands docs/orders.md gives for the Temporal CLI, run with the real ``temporal``
binary against the dev server: the contract other systems and operators use."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import order_handle, start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.settings import Settings
from opsdesk.temporal.devserver import find_binary
from tests.orders.factory import order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.orders.records import Records
from tests.waiting import eventually


async def temporal_cli(env: WorkflowEnvironment, *args: str) -> str:
    address = env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        str(find_binary("temporal")),
        *args,
        "--address",
        address,
        "--namespace",
        env.client.namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def cli_state(env: WorkflowEnvironment, workflow_id: str) -> dict[str, Any]:
    out = await temporal_cli(
        env, "workflow", "query", "--workflow-id", workflow_id, "--name", "get_state", "-o", "json"
    )
    state: dict[str, Any] = json.loads(out)["queryResult"][0]
    return state


async def test_the_cli_ships_queries_and_cancels_an_order(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    shipped, cancelled = order_request(), order_request()
    async with order_worker(dev_env, db, settings):
        for request in (shipped, cancelled):
            await wait_for_status(await start_order(dev_env.client, settings, request), S.CONFIRMED)
        ship_id, cancel_id = (
            order_handle(dev_env.client, r.order_id).id for r in (shipped, cancelled)
        )

        await temporal_cli(
            dev_env,
            "workflow", "signal", "--workflow-id", ship_id, "--name", "request_advance",
            "--input", '{"tracking_number": "1Z999", "expected_status": "CONFIRMED"}',
        )  # fmt: skip
        state = await eventually(
            lambda: cli_state(dev_env, ship_id), lambda state: state["status"] == "SHIPPED"
        )
        assert state["tracking_number"] == "1Z999"

        await temporal_cli(
            dev_env, "workflow", "signal", "--workflow-id", cancel_id, "--name", "request_cancel"
        )
        final = await order_handle(dev_env.client, cancelled.order_id).result()
        await records.wait_for_email(cancelled.order_id, "cancelled")

    assert final.status is S.CANCELLED
    # Compensation ran: warehouse request cancelled, stock released, charge refunded.
    assert await records.fulfilment(cancelled.order_id) == "cancelled"
    held = await records.reservations(cancelled.order_id)
    assert held
    assert all(r.released_at is not None for r in held)
    assert len(await records.refunds(cancelled.order_id)) == 1
