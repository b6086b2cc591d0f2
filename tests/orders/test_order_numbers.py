"""An order made without an id of its own is numbered by the database: ``"1043"``, which
people read as #1043. Two API replicas share the numbers, a restart goes on from them, a
retry gets its first number, and a number a client took as its own id is passed over."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import OrderIdClaim, OrderNumber
from opsdesk.orders.ids import order_label
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.http import serve_http
from tests.orders.helpers import body, error_of, served_api, until_status
from tests.waiting import eventually

HTML = {"Accept": "text/html"}


async def next_number(db: Database) -> int:
    """The number the next order will get: one past the largest handed out."""
    async with db.transaction() as session:
        largest: int | None = await session.scalar(select(func.max(OrderNumber.number)))
    assert largest is not None  # the test fixture starts each database at a number
    return largest + 1


async def created(api: httpx.AsyncClient, key: str | None = None) -> str:
    headers = {"Idempotency-Key": key} if key else {}
    response = await api.post("/api/orders", json=body(customer="cus-numbers"), headers=headers)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def test_people_read_a_numbered_order_with_a_hash_and_other_ids_as_they_are() -> None:
    assert order_label("1043") == "#1043"
    assert order_label("shop-5521") == "shop-5521"
    assert order_label("k3e9516dea6f6ce98fed6") == "k3e9516dea6f6ce98fed6"


async def test_two_replicas_share_one_sequence_and_a_restart_goes_on_from_it(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    first = await next_number(db)
    async with (
        served_api(dev_env, db, settings) as one,
        serve_http(create_app(settings, dev_env.client)) as two,
    ):
        ids = await asyncio.gather(*(created(api) for api in (one, two) * 6))
        await until_status(one, ids[-1], "CONFIRMED")

    assert sorted(int(i) for i in ids) == list(range(first, first + 12))

    # A new app on the same database (a restart, or a replica started later) goes on.
    async with serve_http(create_app(settings, dev_env.client)) as restarted:
        assert await created(restarted) == str(first + 12)


async def test_a_retry_with_the_same_key_gets_the_same_number(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    first = await next_number(db)
    async with served_api(dev_env, db, settings) as api:
        headers = {"Idempotency-Key": "checkout-7"}
        made = await api.post("/api/orders", json=body(customer="cus-retry"), headers=headers)
        again = await api.post("/api/orders", json=body(customer="cus-retry"), headers=headers)
        changed = await api.post(
            "/api/orders", json=body(customer="cus-retry", quantity=2), headers=headers
        )

        assert (made.status_code, again.status_code) == (201, 200)
        assert made.json()["order_id"] == again.json()["order_id"] == str(first)
        assert "already exists with different contents" in error_of(changed, 409)

        # The dashboard's form without JavaScript: its hidden key makes a second post the
        # same order, and the page it leads to is that order's.
        form = {
            "idempotency_key": "form-key-1",
            "lines.0.sku": "MUG-01",
            "lines.0.quantity": "1",
            "customer.name": "Grace Hopper",
            "customer.email": "grace@example.com",
            "shipping_address.line1": "1 Navy Way",
            "shipping_address.city": "Arlington",
            "shipping_address.country": "us",
            "payment_token": "tok_visa",
        }
        posted = [await api.post("/orders", data=form, headers=HTML) for _ in range(2)]
        assert [p.status_code for p in posted] == [303, 303]
        assert {p.headers["location"] for p in posted} == {f"/orders/{first + 1}"}

        # Retries drew nothing: the next order has the next number.
        assert await created(api) == str(first + 2)
        confirmed = await until_status(api, str(first), "CONFIRMED")
        assert confirmed["order_id"] == str(first)

        # Its email names it as people do.
        async def subjects() -> list[str]:
            outbox = await api.get(f"/api/outbox?reference=order-{first}")
            return [item["subject"] for item in outbox.json()["items"]]

        sent = await eventually(subjects, lambda found: len(found) > 0, timeout=30)
        assert sent == [f"Your order #{first} is confirmed"]


async def test_a_number_a_client_took_as_its_own_id_is_passed_over(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    first = await next_number(db)
    async with served_api(dev_env, db, settings) as api:
        # A client's order under the next number, and one under the number after that which
        # Temporal has since forgotten (only its claim is left).
        mine = await api.post("/api/orders", json=body(customer="cus-own-id", order_id=str(first)))
        assert mine.status_code == 201, mine.text
        async with db.transaction() as session:
            session.add(OrderIdClaim(order_id=str(first + 1), stamp="archived-run"))

        numbered = await created(api, "after-a-client")
        retried = await api.post(
            "/api/orders",
            json=body(customer="cus-numbers"),
            headers={"Idempotency-Key": "after-a-client"},
        )

        assert numbered == str(first + 2)
        assert (retried.status_code, retried.json()["order_id"]) == (200, numbered)
        client_order = (await api.get(f"/api/orders/{first}")).json()
        assert client_order["customer"]["id"] == "cus-own-id"  # still the client's own
        # A client may still send its own id, number-like or not, as before.
        assert (
            await api.post("/api/orders", json=body(customer="cus-own-id", order_id=str(first)))
        ).status_code == 200
