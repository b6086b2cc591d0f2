"""`opsdesk load`: the planned mix, and orders driven to the end each plan names, through
the API and straight through Temporal, on the dev server with the real worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders import load
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.models import OrderStatus as S
from opsdesk.settings import Settings
from tests.conftest import free_port
from tests.orders.factory import CATALOG
from tests.orders.helpers import order_worker
from tests.waiting import eventually

# Where each plan must end when the offline rules score the orders.
ENDS = {
    "delivered": S.DELIVERED,
    "approved": S.DELIVERED,
    "rejected": S.REJECTED,
    "declined": S.FAILED,
    "restocked": S.DELIVERED,
    "cancelled": S.CANCELLED,
}


def one_of_each(seed: int = 3) -> list[load.PlannedOrder]:
    firsts: dict[str, load.PlannedOrder] = {}
    for order in load.plan_orders(300, seed, CATALOG):
        firsts.setdefault(order.plan, order)
    assert set(firsts) == set(load.MIX)
    return list(firsts.values())


def test_the_plans_follow_the_mix_and_the_seed() -> None:
    planned = load.plan_orders(4000, 11, CATALOG)
    shares = Counter(order.plan for order in planned)
    for plan, weight in load.MIX.items():
        assert abs(shares[plan] / len(planned) - weight / 100) < 0.03, plan
    again = load.plan_orders(4000, 11, CATALOG)
    assert [(o.plan, o.request.lines) for o in again] == [
        (o.plan, o.request.lines) for o in planned
    ]
    assert len({o.request.order_id for o in planned + again}) == 8000  # ids are per run
    sold_out = {o.request.lines[0].sku for o in planned if o.plan == "restocked"}
    assert sold_out == {"KETTLE-01"}
    # Everything but the sold-out plans gets its stock up front, and nothing more.
    needed = load.stock_needed(planned, CATALOG)
    assert "KETTLE-01" not in needed
    assert needed["MUG-01"] == sum(
        line.quantity
        for o in planned
        if o.plan != "restocked"
        for line in o.request.lines
        if line.sku == "MUG-01"
    ) - next(p.stock for p in CATALOG if p.sku == "MUG-01")


def test_a_catalog_with_nothing_to_order_is_refused() -> None:
    empty = [p.model_copy(update={"stock": 0}) for p in CATALOG]
    with pytest.raises(load.LoadError, match="no active product in stock"):
        load.plan_orders(10, 1, empty)


async def test_through_the_api_every_plan_reaches_its_end(api: httpx.AsyncClient) -> None:
    target = load.ApiTarget(api)
    planned = one_of_each()
    for sku, quantity in load.stock_needed(planned, await target.products()).items():
        await target.restock(sku, quantity)

    report = await load.run_load(target, planned, concurrency=len(planned), poll=0.1)

    assert report.errors() == []
    assert {r.plan: r.status for r in report.results} == ENDS
    assert report.orders_per_second > 0
    # The API shows what the generator saw.
    for order in planned:
        state = (await api.get(f"/api/orders/{order.request.order_id}")).json()
        assert state["status"] == ENDS[order.plan].value


async def test_straight_through_temporal_every_plan_reaches_its_end(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    target = load.TemporalTarget(dev_env.client, settings, db)
    async with order_worker(dev_env, db, settings):
        planned = one_of_each(seed=5)
        for sku, quantity in load.stock_needed(planned, await catalog.products()).items():
            await target.restock(sku, quantity)
        report = await load.run_load(target, planned, concurrency=3, poll=0.1)

    assert report.errors() == []
    assert {r.plan: r.status for r in report.results} == ENDS


def _opsdesk_load(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
    return subprocess.run(
        [sys.executable, "-m", "opsdesk", "load", *args],
        env=env | {"COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


async def test_the_command_drives_a_running_api_and_sums_up(api: httpx.AsyncClient) -> None:
    result = await asyncio.to_thread(
        _opsdesk_load, "-n", "8", "-c", "4", "--seed", "2", "--api-url", str(api.base_url)
    )
    assert result.returncode == 0, result.stderr
    assert "8 of 8" in result.stdout
    assert "orders/s" in result.stdout
    assert "p99 end to end" in result.stdout

    async def finished_load_orders() -> list[dict[str, Any]]:
        page = (await api.get("/api/orders", params={"page_size": 50})).json()["items"]
        return [o for o in page if o["order_id"].startswith("load-2-")]

    listed = await eventually(
        finished_load_orders,
        lambda rows: len(rows) == 8 and all(S(o["status"]).terminal for o in rows),
    )
    assert len(listed) == 8


def test_the_command_says_when_there_is_no_api() -> None:
    result = _opsdesk_load("-n", "1", "--api-url", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "cannot reach the API" in result.stderr
    assert "Traceback" not in result.stderr
