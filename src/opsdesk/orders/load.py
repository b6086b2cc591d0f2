"""The load generator behind ``opsdesk load``: many orders with a mix of outcomes, each
driven to a final status by doing what a person would (approve, restock, ship, deliver,
cancel), through the API or straight through Temporal.

Plans and order contents come from a seeded random generator, so the same seed against the
same catalog makes the same orders (their ids differ per run: an order id is used once).
The contents are built so that the offline rules scorer routes each plan where it says
(``docs/orders.md``); with a model provider the outcomes are whatever the model decides,
and the summary shows them.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.orders import client as orders
from opsdesk.orders import models as m
from opsdesk.orders.inventory import Inventory, ProductSpec
from opsdesk.settings import Settings

Plan = Literal["delivered", "approved", "rejected", "declined", "restocked", "cancelled"]
MIX: dict[Plan, int] = {
    "delivered": 55,  # straight through, shipped and delivered
    "approved": 10,  # grey risk: a person approves, then shipped and delivered
    "rejected": 5,  # grey risk: a person rejects
    "declined": 10,  # the card is declined: FAILED, nothing charged
    "restocked": 10,  # out of stock: waits, a restock wakes it, then delivered
    "cancelled": 10,  # confirmed, then cancelled: refund, stock back, warehouse told
}
# The rules send an order to a person from 500.00 (with billing abroad); below it, through.
REVIEW_AMOUNT_CENTS = 50_000
RESTOCK_EVERY = 2.0
"""Seconds between restocks for one waiting order: another order may take the first."""


class LoadError(Exception):
    """The target cannot be used for load: unreachable, or no catalog to order from."""


class Refused(Exception):
    """The order's status does not allow the action (it moved on meanwhile)."""


@dataclass(frozen=True)
class PlannedOrder:
    plan: Plan
    request: m.OrderRequest


@dataclass
class OrderResult:
    plan: Plan
    status: m.OrderStatus | None
    """The final status; None when the order could not be driven to one."""
    latency_s: float
    error: str = ""


@dataclass
class LoadReport:
    results: list[OrderResult] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def finished(self) -> list[OrderResult]:
        return [r for r in self.results if r.status is not None]

    @property
    def orders_per_second(self) -> float:
        return len(self.finished) / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def latencies_s(self) -> list[float]:
        return [r.latency_s for r in self.finished]

    def outcomes(self) -> Counter[tuple[Plan, str]]:
        return Counter((r.plan, r.status.value if r.status else "error") for r in self.results)

    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]


# -- plans ---------------------------------------------------------------------------------


def plan_orders(count: int, seed: int, catalog: list[ProductSpec]) -> list[PlannedOrder]:
    """``count`` orders in the proportions of ``MIX``. A plan the catalog cannot make (no
    product out of stock, none priced for review) becomes a plain delivered order."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    active = [p for p in catalog if p.active]
    everyday = [p for p in active if p.stock > 0 and p.price_cents <= 10_000]
    if not everyday:
        raise LoadError("the catalog has no active product in stock at 100.00 or less to order")
    pricey = [p for p in active if p.stock > 0 and 5_600 <= p.price_cents < REVIEW_AMOUNT_CENTS]
    sold_out = [p for p in active if p.stock == 0]
    run = uuid.uuid4().hex[:6]
    plans, weights = zip(*MIX.items(), strict=True)
    planned = []
    for n in range(count):
        plan: Plan = rng.choices(plans, weights)[0]
        if (plan in ("approved", "rejected") and not pricey) or (
            plan == "restocked" and not sold_out
        ):
            plan = "delivered"
        customer = rng.randrange(200)
        billing = "US"
        if plan in ("approved", "rejected"):
            product = rng.choice(pricey)
            lines = [
                m.LineItem(
                    sku=product.sku, quantity=math.ceil(REVIEW_AMOUNT_CENTS / product.price_cents)
                )
            ]
            billing = "GB"
        elif plan == "restocked":
            lines = [m.LineItem(sku=rng.choice(sold_out).sku, quantity=rng.randint(1, 2))]
        else:
            picks = rng.sample(everyday, k=min(len(everyday), rng.randint(1, 2)))
            lines = [m.LineItem(sku=p.sku, quantity=rng.randint(1, 2)) for p in picks]
        planned.append(
            PlannedOrder(
                plan=plan,
                request=m.OrderRequest(
                    order_id=f"load-{seed}-{run}-{n:06d}",
                    customer=m.Customer(
                        id=f"load-{customer}",
                        name=f"Load Customer {customer}",
                        email=f"load-{customer}@example.com",
                    ),
                    lines=lines,
                    shipping_address=m.Address(
                        name=f"Load Customer {customer}",
                        line1=f"{1 + customer} Market St",
                        city="Springfield",
                        postal_code="62701",
                        country="US",
                    ),
                    billing_country=billing,
                    payment_token="tok_chargeDeclined" if plan == "declined" else "tok_visa",
                ),
            )
        )
    return planned


def stock_needed(planned: list[PlannedOrder], catalog: list[ProductSpec]) -> dict[str, int]:
    """What to add so that only the sold-out plans wait for stock."""
    demand: Counter[str] = Counter()
    for order in planned:
        if order.plan != "restocked":
            for line in order.request.lines:
                demand[line.sku] += line.quantity
    stock = {p.sku: p.stock for p in catalog}
    return {sku: want - stock[sku] for sku, want in demand.items() if want > stock[sku]}


# -- where orders go -------------------------------------------------------------------------


class Target(Protocol):
    async def products(self) -> list[ProductSpec]: ...
    async def create(self, request: m.OrderRequest) -> m.OrderStatus: ...
    async def status(self, order_id: str) -> m.OrderStatus: ...
    async def advance(self, order_id: str, tracking_number: str | None) -> m.OrderStatus: ...
    async def cancel(self, order_id: str, reason: str) -> m.OrderStatus: ...
    async def restock(self, sku: str, quantity: int) -> None: ...


class ApiTarget:
    """Orders through the HTTP API, as a shop or the dashboard sends them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        response = await self.http.request(method, path, json=body)
        if response.status_code == 409:
            raise Refused(response.json().get("message", "refused"))
        if response.is_error:
            raise LoadError(f"{method} {path} answered {response.status_code}: {response.text}")
        answer: dict[str, object] = response.json()
        return answer

    async def _status(self, method: str, path: str, body: object = None) -> m.OrderStatus:
        return m.OrderStatus(str((await self._call(method, path, body))["status"]))

    async def products(self) -> list[ProductSpec]:
        items = (await self._call("GET", "/api/products"))["items"]
        assert isinstance(items, list)
        return [ProductSpec.model_validate(item) for item in items]

    async def create(self, request: m.OrderRequest) -> m.OrderStatus:
        return await self._status("POST", "/api/orders", request.model_dump(mode="json"))

    async def status(self, order_id: str) -> m.OrderStatus:
        return await self._status("GET", f"/api/orders/{order_id}")

    async def advance(self, order_id: str, tracking_number: str | None) -> m.OrderStatus:
        body = {"tracking_number": tracking_number, "actor": "load"}
        return await self._status("POST", f"/api/orders/{order_id}/advance", body)

    async def cancel(self, order_id: str, reason: str) -> m.OrderStatus:
        body = {"reason": reason, "actor": "load"}
        return await self._status("POST", f"/api/orders/{order_id}/cancel", body)

    async def restock(self, sku: str, quantity: int) -> None:
        await self._call("POST", f"/api/inventory/{sku}/restock", {"quantity": quantity})


class TemporalTarget:
    """Orders straight through Temporal with the same client calls the API makes."""

    def __init__(self, client: Client, settings: Settings, db: Database) -> None:
        self.client = client
        self.settings = settings
        self.db = db

    async def products(self) -> list[ProductSpec]:
        return await Inventory(self.db).products()

    async def create(self, request: m.OrderRequest) -> m.OrderStatus:
        state, _ = await orders.submit_order(self.client, self.settings, request)
        return state.status

    async def status(self, order_id: str) -> m.OrderStatus:
        return (await orders.get_order(self.client, order_id)).status

    async def advance(self, order_id: str, tracking_number: str | None) -> m.OrderStatus:
        request = m.AdvanceRequest(tracking_number=tracking_number, actor="load")
        return await self._act(orders.advance_order, order_id, request)

    async def cancel(self, order_id: str, reason: str) -> m.OrderStatus:
        return await self._act(
            orders.cancel_order, order_id, m.CancelRequest(reason=reason, actor="load")
        )

    async def _act(
        self,
        action: Callable[..., Awaitable[tuple[m.OrderState, bool]]],
        order_id: str,
        request: object,
    ) -> m.OrderStatus:
        try:
            state, _ = await action(self.client, order_id, request, wait=self.settings.action_wait)
        except orders.ActionRefused as exc:
            raise Refused(exc.reason) from None
        return state.status

    async def restock(self, sku: str, quantity: int) -> None:
        await orders.restock(self.client, self.settings, sku, quantity)


# -- driving ---------------------------------------------------------------------------------


async def drive(target: Target, order: PlannedOrder, poll: float) -> OrderResult:
    """Create the order and act on it as its plan says until it reaches a final status."""
    began = time.perf_counter()
    order_id = order.request.order_id
    last_restock = -math.inf
    try:
        status = await target.create(order.request)
        while not status.terminal:
            try:
                status = await _step(target, order, status, poll)
            except Refused:
                status = await target.status(order_id)
            if status is m.OrderStatus.AWAITING_STOCK:
                if time.perf_counter() - last_restock > RESTOCK_EVERY:
                    last_restock = time.perf_counter()
                    for line in order.request.lines:
                        await target.restock(line.sku, line.quantity)
                await asyncio.sleep(poll)
                status = await target.status(order_id)
    except Exception as exc:  # one order's trouble must not stop the run
        return OrderResult(order.plan, None, time.perf_counter() - began, f"{order_id}: {exc}")
    return OrderResult(order.plan, status, time.perf_counter() - began)


async def _step(
    target: Target, order: PlannedOrder, status: m.OrderStatus, poll: float
) -> m.OrderStatus:
    """The plan's action for ``status``; for a status that waits on the order itself, the
    status after a short wait."""
    order_id = order.request.order_id
    if status is m.OrderStatus.REVIEW:
        if order.plan == "rejected":
            return await target.cancel(order_id, "load: rejected in review")
        return await target.advance(order_id, None)
    if status is m.OrderStatus.CONFIRMED:
        if order.plan == "cancelled":
            return await target.cancel(order_id, "load: customer changed their mind")
        return await target.advance(order_id, f"LD{order_id[-6:]}")
    if status is m.OrderStatus.SHIPPED:
        return await target.advance(order_id, None)
    if status is m.OrderStatus.AWAITING_STOCK:
        return status
    await asyncio.sleep(poll)
    return await target.status(order_id)


async def prepare(target: Target, count: int, seed: int) -> list[PlannedOrder]:
    """Plan the orders and add the stock they need, so only sold-out plans wait."""
    catalog = await target.products()
    planned = plan_orders(count, seed, catalog)
    for sku, quantity in stock_needed(planned, catalog).items():
        await target.restock(sku, quantity)
    return planned


async def run_load(
    target: Target,
    planned: list[PlannedOrder],
    concurrency: int,
    poll: float = 0.25,
    on_result: Callable[[OrderResult], None] | None = None,
) -> LoadReport:
    """Drive every planned order, ``concurrency`` at a time."""
    queue: asyncio.Queue[PlannedOrder] = asyncio.Queue()
    for order in planned:
        queue.put_nowait(order)
    report = LoadReport()

    async def driver() -> None:
        while not queue.empty():
            result = await drive(target, queue.get_nowait(), poll)
            report.results.append(result)
            if on_result is not None:
                on_result(result)

    began = time.perf_counter()
    await asyncio.gather(*(driver() for _ in range(min(concurrency, len(planned)))))
    report.elapsed_s = time.perf_counter() - began
    return report
