"""The load generator behind ``opsdesk load``: many orders with a mix of outcomes, each
driven to a final status by doing what a person would (approve, restock, ship, deliver,
cancel), through the API or straight through Temporal.

Plans and order contents come from a seeded random generator, so the same seed against the
same catalog makes the same orders (their ids differ per run: an order id is used once).
The contents are built so that the offline rules scorer routes each plan where it says
(``docs/orders.md``); with a model provider the outcomes are whatever the model decides,
and the summary shows them.

An out-of-stock plan makes its own shortage: it orders a sold-out product, or, when none is
sold out, more units of one product than it has in stock, and no other plan orders that
product. Restocks for it are made exactly and only while no new order on it is arriving
(``Shortage``), so no out-of-stock order finds stock left for another and skips the wait.
A plan the catalog cannot make runs as a delivered order, and ``substitutions`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.orders import service as orders
from opsdesk.orders.inputs import (
    Address,
    AdvanceRequest,
    CancelRequest,
    Customer,
    LineItem,
    OrderRequest,
)
from opsdesk.orders.inventory import Inventory, ProductSpec
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus
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
# From 10 units the rules add risk, and from 20 a large order from a new customer is
# rejected; an out-of-stock order asks for at most this many so that, at worst, it goes to
# review, where the load approves it.
SHORTAGE_MAX_UNITS = 19
RESTOCK_EVERY = 2.0
"""Seconds between restocks for one waiting order."""
BEFORE_STOCK = frozenset(
    {OrderStatus.PENDING, OrderStatus.REVIEW, OrderStatus.PAYMENT, OrderStatus.ALLOCATING}
)
"""Statuses an order passes through before it asks for its stock."""
WHY_SUBSTITUTED: dict[Plan, str] = {
    "approved": "no active product in stock is priced from 56.00 to 499.99",
    "rejected": "no active product in stock is priced from 56.00 to 499.99",
    "restocked": (
        f"no active product is sold out or has {SHORTAGE_MAX_UNITS - 2} or fewer in stock, "
        "so none can be ordered past its stock"
    ),
}


class LoadError(Exception):
    """The target cannot be used for load: unreachable, or no catalog to order from."""


class Refused(Exception):
    """The order's status does not allow the action (it moved on meanwhile)."""


@dataclass(frozen=True)
class PlannedOrder:
    plan: Plan
    request: OrderRequest
    instead_of: Plan | None = None
    """The plan drawn for this order when the catalog could not make it (see ``plan``)."""


@dataclass
class OrderResult:
    plan: Plan
    status: OrderStatus | None
    """The final status; None when the order could not be driven to one."""
    latency_s: float
    error: str = ""
    waited_for_stock: bool = False
    """Whether the order was seen AWAITING_STOCK."""


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

    def unheld(self) -> list[OrderResult]:
        """Out-of-stock plans that finished without waiting for stock: someone else
        restocked the product during the run."""
        return [
            r
            for r in self.results
            if r.plan == "restocked" and r.status is not None and not r.waited_for_stock
        ]


# -- plans ---------------------------------------------------------------------------------


def plan_orders(count: int, seed: int, catalog: list[ProductSpec]) -> list[PlannedOrder]:
    """``count`` orders in the proportions of ``MIX``. A plan the catalog cannot make (no
    product that can be made short, none priced for review) becomes a plain delivered order
    that remembers what it was drawn as."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    active = [p for p in catalog if p.active]
    everyday = [p for p in active if p.stock > 0 and p.price_cents <= 10_000]
    if not everyday:
        raise LoadError("the catalog has no active product in stock at 100.00 or less to order")
    short = shortage_products(active, everyday)
    # The other plans keep off a product that is kept short, or their orders would take the
    # stock an out-of-stock order is waiting for, and theirs would wait.
    everyday = [p for p in everyday if p not in short]
    pricey = [
        p
        for p in active
        if p.stock > 0 and 5_600 <= p.price_cents < REVIEW_AMOUNT_CENTS and p not in short
    ]
    run = uuid.uuid4().hex[:6]
    plans, weights = zip(*MIX.items(), strict=True)
    planned = []
    for n in range(count):
        plan: Plan = rng.choices(plans, weights)[0]
        drawn = plan
        if (plan in ("approved", "rejected") and not pricey) or (plan == "restocked" and not short):
            plan = "delivered"
        customer = rng.randrange(200)
        billing = "US"
        if plan in ("approved", "rejected"):
            product = rng.choice(pricey)
            lines = [
                LineItem(
                    sku=product.sku, quantity=math.ceil(REVIEW_AMOUNT_CENTS / product.price_cents)
                )
            ]
            billing = "GB"
        elif plan == "restocked":
            product = rng.choice(short)
            lines = [LineItem(sku=product.sku, quantity=product.stock + rng.randint(1, 2))]
        else:
            picks = rng.sample(everyday, k=min(len(everyday), rng.randint(1, 2)))
            lines = [LineItem(sku=p.sku, quantity=rng.randint(1, 2)) for p in picks]
        planned.append(
            PlannedOrder(
                plan=plan,
                instead_of=drawn if drawn != plan else None,
                request=OrderRequest(
                    order_id=f"load-{seed}-{run}-{n:06d}",
                    customer=Customer(
                        id=f"load-{customer}",
                        name=f"Load Customer {customer}",
                        email=f"load-{customer}@example.com",
                    ),
                    lines=lines,
                    shipping_address=Address(
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


def shortage_products(active: list[ProductSpec], everyday: list[ProductSpec]) -> list[ProductSpec]:
    """The products out-of-stock plans order: every sold-out one; failing that, the one
    whose order past its stock costs least, if it stays under ``SHORTAGE_MAX_UNITS``."""
    sold_out = [p for p in active if p.stock == 0]
    if sold_out:
        return sold_out
    candidates = [
        p
        for p in active
        if p.stock + 2 <= SHORTAGE_MAX_UNITS
        # Everything else orders from the everyday products: keep at least one for them.
        and everyday != [p]
    ]
    if not candidates:
        return []
    return [min(candidates, key=lambda p: ((p.stock + 2) * p.price_cents, p.sku))]


def substitutions(planned: list[PlannedOrder]) -> list[str]:
    """A sentence for each plan that ran as another, with the reason."""
    counts = Counter(o.instead_of for o in planned if o.instead_of is not None)
    return [
        f"{n} {drawn!r} order{'s' if n > 1 else ''} ran as 'delivered': {WHY_SUBSTITUTED[drawn]}"
        for drawn, n in sorted(counts.items())
    ]


def stock_needed(planned: list[PlannedOrder], catalog: list[ProductSpec]) -> dict[str, int]:
    """What to add so that only the out-of-stock plans wait for stock."""
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
    async def create(self, request: OrderRequest) -> OrderStatus: ...
    async def status(self, order_id: str) -> OrderStatus: ...
    async def advance(self, order_id: str, tracking_number: str | None) -> OrderStatus: ...
    async def cancel(self, order_id: str, reason: str) -> OrderStatus: ...
    async def restock(self, sku: str, quantity: int) -> None: ...


class Http(Protocol):
    """What ``ApiTarget`` sends requests with: an ``httpx.AsyncClient`` with the API's base
    URL and token, or something that spreads requests over replicas (``opsdesk drill``)."""

    async def request(self, method: str, url: str, *, json: object = None) -> httpx.Response: ...


class ApiTarget:
    """Orders through the HTTP API, as a shop or the dashboard sends them."""

    def __init__(self, http: Http) -> None:
        self.http = http

    async def _call(self, method: str, path: str, body: object = None) -> dict[str, object]:
        response = await self.http.request(method, path, json=body)
        if response.status_code == 409:
            raise Refused(response.json().get("message", "refused"))
        if response.is_error:
            raise LoadError(f"{method} {path} answered {response.status_code}: {response.text}")
        answer: dict[str, object] = response.json()
        return answer

    async def _status(self, method: str, path: str, body: object = None) -> OrderStatus:
        return OrderStatus(str((await self._call(method, path, body))["status"]))

    async def products(self) -> list[ProductSpec]:
        items = (await self._call("GET", "/api/products"))["items"]
        assert isinstance(items, list)
        return [ProductSpec.model_validate(item) for item in items]

    async def create(self, request: OrderRequest) -> OrderStatus:
        return await self._status("POST", "/api/orders", request.model_dump(mode="json"))

    async def status(self, order_id: str) -> OrderStatus:
        return await self._status("GET", f"/api/orders/{order_id}")

    async def advance(self, order_id: str, tracking_number: str | None) -> OrderStatus:
        body = {"tracking_number": tracking_number}
        return await self._status("POST", f"/api/orders/{order_id}/advance", body)

    async def cancel(self, order_id: str, reason: str) -> OrderStatus:
        body = {"reason": reason}
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

    async def create(self, request: OrderRequest) -> OrderStatus:
        state, _ = await orders.submit_order(self.client, self.settings, request)
        return state.status

    async def status(self, order_id: str) -> OrderStatus:
        return (await orders.get_order(self.client, order_id)).status

    async def advance(self, order_id: str, tracking_number: str | None) -> OrderStatus:
        request = AdvanceRequest(tracking_number=tracking_number, actor="load")
        return await self._act(orders.advance_order, order_id, request)

    async def cancel(self, order_id: str, reason: str) -> OrderStatus:
        return await self._act(
            orders.cancel_order, order_id, CancelRequest(reason=reason, actor="load")
        )

    async def _act(
        self,
        action: Callable[..., Awaitable[tuple[OrderState, bool]]],
        order_id: str,
        request: object,
    ) -> OrderStatus:
        try:
            state, _ = await action(self.client, order_id, request, wait=self.settings.action_wait)
        except orders.ActionRefused as exc:
            raise Refused(exc.reason) from None
        return state.status

    async def restock(self, sku: str, quantity: int) -> None:
        await orders.restock(self.client, self.settings, sku, quantity)


# -- driving ---------------------------------------------------------------------------------


class Shortage:
    """One product kept short for the out-of-stock orders on it.

    Every out-of-stock order must find too little stock when it asks: a newer order asking
    while a restock meant for waiting orders is there would take it and never wait. So new
    orders arrive (from creation until they ask for their stock) side by side; once one
    waits, newcomers hold back, and when the arrivals have settled one restock covers every
    waiting order, exactly, before newcomers may arrive again.
    """

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._arriving = 0
        self._waiting: dict[str, int] = {}
        """Orders waiting for a restock, with the units each wants."""
        self._restocked: set[str] = set()
        """Orders covered by a restock that have not been seen with their stock yet."""

    async def arrive(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._waiting and not self._restocked)
            self._arriving += 1

    async def arrived(self, order_id: str | None = None, units: int = 0) -> None:
        """The order has asked for its stock and, given its id, waits for ``units``."""
        async with self._changed:
            self._arriving -= 1
            if order_id is not None:
                self._waiting[order_id] = units
            self._changed.notify_all()

    async def restock(self, target: Target, order_id: str, sku: str) -> None:
        """Return once a restock covers the order: made here for every order waiting with it,
        or by another of them."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: (
                    order_id not in self._waiting or (not self._arriving and not self._restocked)
                )
            )
            if order_id not in self._waiting:
                return
            batch, self._waiting = self._waiting, {}
            self._restocked |= batch.keys()
        # Each order takes all it wants or nothing, so stock of exactly what the batch wants
        # serves every one of them, whichever asks first, and leaves none over.
        lacking = sum(batch.values()) - (await _stock(target)).get(sku, 0)
        if lacking > 0:
            await target.restock(sku, lacking)

    async def done(self, order_id: str) -> None:
        """The order no longer waits (it has its stock, or it failed)."""
        async with self._changed:
            self._waiting.pop(order_id, None)
            self._restocked.discard(order_id)
            self._changed.notify_all()


async def drive(
    target: Target, order: PlannedOrder, poll: float, shortage: Shortage | None = None
) -> OrderResult:
    """Create the order and act on it as its plan says until it reaches a final status.

    An out-of-stock order takes its turns on its product's ``shortage``; its latency starts
    once it may arrive.
    """
    order_id = order.request.order_id
    waited = False
    arriving = shortage is not None
    if shortage is not None:
        await shortage.arrive()
    began = time.perf_counter()
    try:
        status = await target.create(order.request)
        while not status.terminal:
            if shortage is not None and arriving and status not in BEFORE_STOCK:
                arriving = False
                if status is OrderStatus.AWAITING_STOCK:
                    await shortage.arrived(order_id, order.request.lines[0].quantity)
                else:
                    await shortage.arrived()
            if status is OrderStatus.AWAITING_STOCK:
                waited = True
                status = await _until_stocked(target, order, poll, shortage)
                continue
            try:
                status = await _step(target, order, status, poll)
            except Refused:
                status = await target.status(order_id)
    except Exception as exc:  # one order's trouble must not stop the run
        return OrderResult(
            order.plan, None, time.perf_counter() - began, f"{order_id}: {exc}", waited
        )
    finally:
        if shortage is not None:
            if arriving:
                await shortage.arrived()
            await shortage.done(order_id)
    return OrderResult(order.plan, status, time.perf_counter() - began, waited_for_stock=waited)


async def _until_stocked(
    target: Target, order: PlannedOrder, poll: float, shortage: Shortage | None
) -> OrderStatus:
    """Restock for a waiting order until it has its stock (or is done); its status then.

    After the first restock, more is added only for a lack seen on two looks in a row,
    ``RESTOCK_EVERY`` apart (another order took the stock): one look may catch the order
    just after it took its stock and before its status says so, and stock added then would
    be left over for the next out-of-stock order.
    """
    order_id = order.request.order_id
    if shortage is not None:
        await shortage.restock(target, order_id, order.request.lines[0].sku)
    else:
        for sku, units in (await _lacking(target, order)).items():
            await target.restock(sku, units)
    looked = time.perf_counter()
    lacked = False
    status = OrderStatus.AWAITING_STOCK
    while status is OrderStatus.AWAITING_STOCK:
        await asyncio.sleep(poll)
        status = await target.status(order_id)
        if status is not OrderStatus.AWAITING_STOCK or time.perf_counter() - looked < (
            RESTOCK_EVERY
        ):
            continue
        looked = time.perf_counter()
        lacking = await _lacking(target, order)
        if not lacking:  # the stock is there but its wake-up is not: retry the allocation
            with contextlib.suppress(Refused):
                await target.advance(order_id, None)
        elif lacked:
            for sku, units in lacking.items():
                await target.restock(sku, units)
        lacked = bool(lacking) and not lacked
    if shortage is not None:
        await shortage.done(order_id)
    return status


async def _stock(target: Target) -> dict[str, int]:
    return {p.sku: p.stock for p in await target.products()}


async def _lacking(target: Target, order: PlannedOrder) -> dict[str, int]:
    """What the order wants beyond the stock, per sku."""
    stock = await _stock(target)
    return {
        line.sku: line.quantity - stock.get(line.sku, 0)
        for line in order.request.lines
        if line.quantity > stock.get(line.sku, 0)
    }


async def _step(
    target: Target, order: PlannedOrder, status: OrderStatus, poll: float
) -> OrderStatus:
    """The plan's action for ``status``; for a status that waits on the order itself, the
    status after a short wait."""
    order_id = order.request.order_id
    if status is OrderStatus.REVIEW:
        if order.plan == "rejected":
            return await target.cancel(order_id, "load: rejected in review")
        return await target.advance(order_id, None)
    if status is OrderStatus.CONFIRMED:
        if order.plan == "cancelled":
            return await target.cancel(order_id, "load: customer changed their mind")
        return await target.advance(order_id, f"LD{order_id[-6:]}")
    if status is OrderStatus.SHIPPED:
        return await target.advance(order_id, None)
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
    shortages: defaultdict[str, Shortage] = defaultdict(Shortage)

    async def driver() -> None:
        while not queue.empty():
            order = queue.get_nowait()
            short = order.plan == "restocked"
            result = await drive(
                target, order, poll, shortages[order.request.lines[0].sku] if short else None
            )
            report.results.append(result)
            if on_result is not None:
                on_result(result)

    began = time.perf_counter()
    await asyncio.gather(*(driver() for _ in range(min(concurrency, len(planned)))))
    report.elapsed_s = time.perf_counter() - began
    return report
