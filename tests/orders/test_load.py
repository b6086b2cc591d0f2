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
from opsdesk.orders.status import OrderStatus as S
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


# The sold-out kettle after a restock of the dashboard's default quantity.
RESTOCKED = [p.model_copy(update={"stock": 10}) if p.sku == "KETTLE-01" else p for p in CATALOG]


def test_with_nothing_sold_out_the_plans_order_past_a_products_stock() -> None:
    planned = load.plan_orders(4000, 11, RESTOCKED)
    restocked = [o for o in planned if o.plan == "restocked"]
    assert abs(len(restocked) / len(planned) - load.MIX["restocked"] / 100) < 0.03
    assert {line.sku for o in restocked for line in o.request.lines} == {"KETTLE-01"}
    assert {o.request.lines[0].quantity for o in restocked} == {11, 12}
    # The kettle is kept short: no other plan orders it, and nothing is added for it.
    assert all(
        line.sku != "KETTLE-01"
        for o in planned
        if o.plan != "restocked"
        for line in o.request.lines
    )
    assert "KETTLE-01" not in load.stock_needed(planned, RESTOCKED)
    assert load.substitutions(planned) == []


def test_a_plan_the_catalog_cannot_make_is_named() -> None:
    plenty = [p.model_copy(update={"stock": 50}) for p in CATALOG]
    planned = load.plan_orders(200, 1, plenty)
    swapped = [o for o in planned if o.instead_of is not None]
    assert swapped
    assert all(o.plan == "delivered" and o.instead_of == "restocked" for o in swapped)
    assert load.substitutions(planned) == [
        f"{len(swapped)} 'restocked' orders ran as 'delivered': no active product is sold out "
        "or has 17 or fewer in stock, so none can be ordered past its stock"
    ]


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


async def test_out_of_stock_plans_wait_even_after_the_product_was_restocked(
    api: httpx.AsyncClient,
) -> None:
    target = load.ApiTarget(api)
    await target.restock("KETTLE-01", 10)  # someone restocked the sold-out kettle
    planned = await load.prepare(target, 40, seed=3)
    restocked = [o for o in planned if o.plan == "restocked"]
    assert len(restocked) >= 5
    # Side by side, so that a restock meant for one could be taken by another.
    chosen = restocked + [o for o in planned if o.plan == "delivered"][:2]

    report = await load.run_load(target, chosen, concurrency=len(chosen), poll=0.1)

    assert report.errors() == []
    assert report.unheld() == []
    assert {r.plan: r.status for r in report.results} == {
        "restocked": S.DELIVERED,
        "delivered": S.DELIVERED,
    }
    for order in restocked:
        state = (await api.get(f"/api/orders/{order.request.order_id}")).json()
        assert S.AWAITING_STOCK in [t["status"] for t in state["history"]], state["history"]


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
    result = await asyncio.to_thread(_opsdesk_load, "-n", "8", "-c", "4", "--seed", "2", *_to(api))
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


async def test_the_command_says_what_it_substituted(api: httpx.AsyncClient) -> None:
    for product in (await api.get("/api/products")).json()["items"]:
        await api.post(f"/api/inventory/{product['sku']}/restock", json={"quantity": 50})
    # Seed 29 draws an out-of-stock order among its first three.
    result = await asyncio.to_thread(_opsdesk_load, "-n", "3", "--seed", "29", *_to(api))
    assert result.returncode == 0, result.stderr
    assert "1 'restocked' order ran as 'delivered'" in " ".join(result.stderr.split())


def test_the_command_says_when_there_is_no_api() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = _opsdesk_load("-n", "1", "--api-url", nowhere, "--token", "odt_x")
    assert result.returncode == 1
    assert "cannot reach the API" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_says_the_api_needs_a_token() -> None:
    result = _opsdesk_load("-n", "1", "--api-url", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "opsdesk tokens create load --role operator" in " ".join(result.stderr.split())


def _to(api: httpx.AsyncClient) -> list[str]:
    """The command-line options that point ``opsdesk load`` at the test's API as its client."""
    token = api.headers["authorization"].removeprefix("Bearer ")
    return ["--api-url", str(api.base_url), "--token", token]
