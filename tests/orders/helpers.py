"""Running and talking to the order desk in tests: the real worker assembly, the API
served on loopback, request bodies, and waits for what visibility shows a moment later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.notify.workflows import NotificationWorkflow
from opsdesk.orders.payloads import FulfilmentInput
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.warehouse import Warehouse
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.payments.ledger import PaymentGateway
from opsdesk.settings import Settings
from opsdesk.temporal.interceptors import UnversionedInterceptor
from opsdesk.worker import (
    build_workers,
    notify_activities,
    order_activities,
    running,
    workflow_runner,
)
from tests.http import serve_http
from tests.waiting import eventually

SECRET = "whsec-test"


@asynccontextmanager
async def order_worker(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[None]:
    async with running(build_workers(env.client, db, settings)):
        yield


async def wait_for_status(
    handle: WorkflowHandle[OrderWorkflow, OrderState],
    *statuses: OrderStatus,
    timeout: float = 60.0,
) -> OrderState:
    return await eventually(
        lambda: handle.query(OrderWorkflow.get_state),
        lambda state: state.status in statuses,
        timeout=timeout,
    )


@asynccontextmanager
async def served_api(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a loopback port with a worker behind it, as `opsdesk dev` runs them."""
    settings = settings.model_copy(
        update={"webhook_secret": SecretStr(SECRET), "events_interval": 0.2}
    )
    async with (
        order_worker(env, db, settings),
        serve_http(create_app(settings, env.client)) as http,
    ):
        yield http


def body(
    sku: str = "MUG-01", quantity: int = 1, customer: str = "cus-api", **extra: Any
) -> dict[str, Any]:
    return {
        "customer": {"id": customer, "name": "Ada Lovelace", "email": "ada@example.com"},
        "lines": [{"sku": sku, "quantity": quantity}],
        "shipping_address": {
            "name": "Ada",
            "line1": "12 St James's Square",
            "city": "London",
            "country": "GB",
        },
        "payment_token": "tok_visa",
        **extra,
    }


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status
    message: str = error["message"]
    return message


async def until_status(api: httpx.AsyncClient, order_id: str, status: str) -> dict[str, Any]:
    async def state() -> dict[str, Any]:
        response = await api.get(f"/api/orders/{order_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    return await eventually(state, lambda s: s["status"] == status, timeout=30)


async def listed(api: httpx.AsyncClient, query: str, count: int) -> list[dict[str, Any]]:
    """Visibility is eventually consistent: ask until the list has caught up."""

    async def page() -> list[dict[str, Any]]:
        response = await api.get(f"/api/orders?{query}")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return await eventually(page, lambda items: len(items) == count, timeout=30)


@asynccontextmanager
async def order_worker_with(
    env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    *,
    warehouse: Warehouse | None = None,
    gateway: PaymentGateway | None = None,
) -> AsyncIterator[None]:
    """The order queue's worker as ``opsdesk worker`` builds it, with the warehouse or the
    payment gateway replaced: how a test makes a step slow, or lose its answer."""
    activities = order_activities(db, None)
    activities.warehouse = warehouse or activities.warehouse
    activities.gateway = gateway or activities.gateway
    worker = Worker(
        env.client,
        task_queue=settings.orders_task_queue,
        workflows=[OrderWorkflow, NotificationWorkflow],
        activities=[*activities.all(), *notify_activities(db, settings, None).all()],
        workflow_runner=workflow_runner(),
        # As `build_workers` makes an unversioned worker (the workflows declare how they
        # are versioned, which the server refuses from a worker outside a deployment).
        interceptors=[UnversionedInterceptor()],
    )
    async with worker:
        yield


class GatedWarehouse(Warehouse):
    """A warehouse whose requests wait until ``gate`` opens, then answer as usual."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()

    async def request(self, request: FulfilmentInput) -> None:
        self.asked.set()
        await self.gate.wait()
        await super().request(request)
