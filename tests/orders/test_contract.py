"""The five routes of the original Order Ops dashboard, driven exactly as it drove them:
the same paths and verbs, advance and cancel with no body at all."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from opsdesk.orders.service import order_handle
from tests.orders.helpers import body, listed, until_status
from tests.waiting import eventually


async def test_the_original_routes_keep_working(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    # POST /api/orders starts an order workflow and returns the order.
    created = await api.post("/api/orders", json=body(customer="cus-contract"))
    assert created.status_code == 201
    first = created.json()["order_id"]
    handle = order_handle(dev_env.client, first)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await until_status(api, first, "CONFIRMED")

    # POST /api/orders/{id}/advance with no body moves it to the next status.
    shipped = await api.post(f"/api/orders/{first}/advance")
    assert shipped.status_code == 200
    assert shipped.json()["status"] == "SHIPPED"
    delivered = await api.post(f"/api/orders/{first}/advance")
    assert delivered.json()["status"] == "DELIVERED"

    # POST /api/orders/{id}/cancel with no body cancels.
    second = (await api.post("/api/orders", json=body(customer="cus-contract"))).json()["order_id"]
    cancelled = await api.post(f"/api/orders/{second}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"

    # GET /api/orders lists them; GET /api/metrics counts them.
    # Visibility catches up within a second or so: wait for the last statuses to show.
    async def listed_statuses() -> dict[str, str]:
        rows = await listed(api, "customer=cus-contract", 2)
        return {row["order_id"]: row["status"] for row in rows}

    await eventually(
        listed_statuses, lambda found: found == {first: "DELIVERED", second: "CANCELLED"}
    )

    async def metrics() -> dict[str, Any]:
        found: dict[str, Any] = (await api.get("/api/metrics")).json()
        return found

    counts = (await eventually(metrics, lambda m: m["total"] == 2))["counts"]
    assert counts["DELIVERED"] == 1
    assert counts["CANCELLED"] == 1
