"""``OPSDESK_LOG_FORMAT=json``: one JSON object a line, saying which workflow, run and
order a line is about."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.logs import JsonLines
from opsdesk.orders.inputs import AdvanceRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.orders.factory import order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.waiting import eventually


async def test_a_workflows_line_names_its_workflow_run_and_order(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    workflow_log = logging.getLogger("temporalio.workflow")
    level = workflow_log.level
    workflow_log.setLevel(logging.INFO)
    workflow_log.addHandler(handler)
    try:
        async with order_worker(dev_env, db, settings):
            request = order_request([LineItem(sku="MUG-01", quantity=1)])
            handle = await start_order(dev_env.client, settings, request)
            await wait_for_status(handle, OrderStatus.CONFIRMED)
            # An advance for a status the order has left: the workflow logs and ignores it.
            stale = AdvanceRequest(request_id="stale", expected_status=OrderStatus.PENDING)
            await handle.signal(OrderWorkflow.request_advance, stale)

            def lines() -> list[dict[str, Any]]:
                return [json.loads(line) for line in stream.getvalue().splitlines()]

            found = await eventually(
                lambda: _now(lines()),
                lambda rows: any("advance ignored" in row["message"] for row in rows),
            )
    finally:
        workflow_log.removeHandler(handler)
        workflow_log.setLevel(level)
    [line] = [row for row in found if "advance ignored" in row["message"]]
    described = await handle.describe()
    assert line["level"] == "info"
    assert line["workflow_id"] == handle.id
    assert line["run_id"] == described.run_id
    assert line["workflow_type"] == "OrderWorkflow"
    assert line["order_id"] == request.order_id


async def _now(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows


def test_the_commands_log_json_when_asked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SNIPPET],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(text) for text in result.stderr.splitlines() if text.strip()]
    assert line == {**line, "level": "warning", "logger": "opsdesk.test", "message": "hello 42"}
    assert "workflow_id" not in line


_SNIPPET = """
import logging
from opsdesk.logs import configure
configure("info", "json")
logging.getLogger("opsdesk.test").warning("hello %s", 42)
"""
