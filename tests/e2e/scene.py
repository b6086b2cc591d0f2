"""A desk in mid-shift for the layout tests: the longest names, e-mail addresses, buttons and
sums the dashboard has to fit, in every status that gives a row its widest actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.orders.helpers import body, until_status
from tests.waiting import eventually

LONG_NAME = "Maximiliana Fitzgerald-Oyelaran"
LONG_EMAIL = "maximiliana.fitzgerald-oyelaran@operations.example-company.co.uk"


@dataclass(frozen=True)
class Desk:
    confirmed: str
    """Long name and e-mail address; "Mark shipped" and "Cancel order"."""
    review: str
    """"Approve" and "Reject"."""
    awaiting_stock: str
    """The widest pair: "Retry after restock" and "Cancel order"."""
    shipped: str
    cancelled: str
    approved: str
    """A bicycle, approved: four-figure revenue in the metric card."""


def _order(customer: str, sku: str, quantity: int, **customer_fields: str) -> dict[str, Any]:
    order = body(sku=sku, quantity=quantity, customer=customer)
    order["customer"] |= customer_fields
    return order


async def _create(site: httpx.AsyncClient, order: dict[str, Any]) -> str:
    response = await site.post("/api/orders", json=order)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


async def busy_desk(site: httpx.AsyncClient) -> Desk:
    confirmed = await _create(
        site, _order("cus-long", "MUG-01", 2, name=LONG_NAME, email=LONG_EMAIL)
    )
    review = await _create(site, _order("cus-lamps", "LAMP-DESK", 4))
    awaiting_stock = await _create(site, _order("cus-kettle", "KETTLE-01", 1))
    shipped = await _create(site, _order("cus-tee", "TEE-M", 1))
    cancelled = await _create(site, _order("cus-cancel", "MUG-01", 1))
    approved = await _create(site, _order("cus-bike", "BIKE-CITY", 1))

    await until_status(site, shipped, "CONFIRMED")
    advanced = await site.post(f"/api/orders/{shipped}/advance", json={"tracking_number": "1Z9"})
    assert advanced.status_code == 200, advanced.text
    await until_status(site, cancelled, "CONFIRMED")
    assert (await site.post(f"/api/orders/{cancelled}/cancel")).status_code == 200
    await until_status(site, approved, "REVIEW")
    assert (await site.post(f"/api/orders/{approved}/advance")).status_code == 200

    desk = Desk(confirmed, review, awaiting_stock, shipped, cancelled, approved)
    expected = {
        confirmed: "CONFIRMED",
        review: "REVIEW",
        awaiting_stock: "AWAITING_STOCK",
        shipped: "SHIPPED",
        cancelled: "CANCELLED",
        approved: "CONFIRMED",
    }

    async def listed() -> dict[str, str]:
        response = await site.get("/api/orders")
        return {row["order_id"]: row["status"] for row in response.json()["items"]}

    # Visibility trails the workflows: wait until the list shows every order as it is.
    await eventually(listed, lambda rows: rows == expected, timeout=60)
    return desk
