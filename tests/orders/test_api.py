"""The Order Ops API over real HTTP (uvicorn on loopback), with a real worker on the dev
server and a real SQLite database."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.orders.inputs import CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.web import signatures
from tests.http import serve_http
from tests.orders.factory import order_request
from tests.orders.helpers import (
    SECRET,
    body,
    error_of,
    listed,
    served_api,
    until_status,
    wait_for_status,
)
from tests.orders.records import Records
from tests.waiting import eventually

# -- intake -----------------------------------------------------------------------------------


async def test_create_returns_the_order(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/orders", json=body(quantity=2))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] in {"PENDING", "CONFIRMED", "PAYMENT", "ALLOCATING"}
    assert order["customer"]["id"] == "cus-api"
    # Answered priced, not with the empty lines of an order no step has seen yet.
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("MUG-01", 2)]
    assert order["total_cents"] == 3600
    assert order["temporal_url"].endswith(f"/workflows/order-{order['order_id']}")
    confirmed = await until_status(api, order["order_id"], "CONFIRMED")
    assert confirmed["total_cents"] == 3600
    assert [a["label"] for a in confirmed["actions"]] == ["Mark shipped", "Cancel order"]


async def test_an_idempotency_key_returns_the_same_order(
    api: httpx.AsyncClient, db: Database
) -> None:
    headers = {"Idempotency-Key": "checkout-42"}
    first = await api.post("/api/orders", json=body(customer="cus-idem"), headers=headers)
    again = await api.post("/api/orders", json=body(customer="cus-idem"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["order_id"] == again.json()["order_id"]

    different = await api.post(
        "/api/orders", json=body(customer="cus-idem", quantity=3), headers=headers
    )
    assert "already exists with different contents" in error_of(different, 409)

    await until_status(api, first.json()["order_id"], "CONFIRMED")
    assert len(await listed(api, "customer=cus-idem", 1)) == 1
    assert len(await Records(db).charges(first.json()["order_id"])) == 1


async def test_a_customer_id_that_is_an_email_never_reaches_visibility(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    # What the dashboard's form sends when the customer has no id of their own.
    sent = await api.post("/api/orders", json=body(customer="Ada@Example.com"))
    assert sent.status_code == 201, sent.text
    order = sent.json()
    customer_id = order["customer"]["id"]
    assert customer_id.startswith("cus-")
    assert "@" not in customer_id
    assert order["customer"]["email"] == "ada@example.com"
    described = await dev_env.client.get_workflow_handle(f"order-{order['order_id']}").describe()
    assert described.typed_search_attributes.get(sa.ORDER_CUSTOMER) == customer_id
    # The same address is the same customer, and a person may still filter by it.
    again = await api.post("/api/orders", json=body(customer="ada@example.com"))
    assert again.json()["customer"]["id"] == customer_id
    assert len(await listed(api, "customer=ada@example.com", 2)) == 2


async def test_bad_input_is_refused_and_starts_nothing(api: httpx.AsyncClient) -> None:
    bad_json = await api.post(
        "/api/orders", content=b'{"customer": ', headers={"Content-Type": "application/json"}
    )
    assert error_of(bad_json, 422) == "the request body is not valid JSON"
    assert "unknown sku: NOPE-1" in error_of(
        await api.post("/api/orders", json=body(sku="NOPE-1", customer="cus-bad")), 422
    )
    assert "lines.0.quantity" in error_of(
        await api.post("/api/orders", json=body(quantity=-2, customer="cus-bad")), 422
    )
    assert "lines.0.quantity" in error_of(
        await api.post("/api/orders", json=body(quantity=10**9, customer="cus-bad")), 422
    )
    # A field that takes a shape says which, in words, never with its regex.
    assert error_of(
        await api.post("/api/orders", json=body(sku="mug 01", customer="cus-bad")), 422
    ) == ("lines.0.sku: should be a SKU: capital letters, digits and dashes")
    too_many = body(customer="cus-bad")
    too_many["lines"] = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(60)]
    assert "lines" in error_of(await api.post("/api/orders", json=too_many), 422)
    huge = body(customer="cus-bad", note="x" * 200_000)
    assert error_of(await api.post("/api/orders", json=huge), 413)
    missing = body(customer="cus-bad")
    del missing["payment_token"]
    assert "payment_token" in error_of(await api.post("/api/orders", json=missing), 422)

    # Whatever a refused request had started would be listed by the time an order accepted
    # after them all is: wait for that one instead of for a while.
    accepted = (await api.post("/api/orders", json=body(customer="cus-bad"))).json()
    await until_status(api, accepted["order_id"], "CONFIRMED")
    items = await listed(api, "customer=cus-bad", 1)
    assert [item["order_id"] for item in items] == [accepted["order_id"]]


async def test_out_of_range_headers_and_cursors_are_refused(api: httpx.AsyncClient) -> None:
    order_id = (await api.post("/api/orders", json=body(customer="cus-range"))).json()["order_id"]
    await until_status(api, order_id, "CONFIRMED")
    long_key = {"Idempotency-Key": "k" * 101}
    for action, payload in (("advance", {"tracking_number": "T1"}), ("cancel", {})):
        refused = await api.post(f"/api/orders/{order_id}/{action}", json=payload, headers=long_key)
        assert "Idempotency-Key" in error_of(refused, 422)
    restock = await api.post(
        "/api/inventory/MUG-01/restock", json={"quantity": 1}, headers=long_key
    )
    assert "Idempotency-Key" in error_of(restock, 422)
    assert "before" in error_of(await api.get(f"/api/outbox?before={10**40}"), 422)
    # Nothing was done: the order still waits for shipment.
    assert (await api.get(f"/api/orders/{order_id}")).json()["status"] == "CONFIRMED"


# -- advance and cancel ---------------------------------------------------------------------


async def test_advance_walks_an_order_through_review_to_delivered(api: httpx.AsyncClient) -> None:
    order = (
        await api.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4, customer="cus-walk"))
    ).json()
    order_id = order["order_id"]
    review = await until_status(api, order_id, "REVIEW")
    assert [a["label"] for a in review["actions"]] == ["Approve", "Reject"]

    approved = await api.post(f"/api/orders/{order_id}/advance", json={"expected_status": "REVIEW"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "CONFIRMED"

    stale = await api.post(f"/api/orders/{order_id}/advance", json={"expected_status": "REVIEW"})
    assert error_of(stale, 409) == (
        "the order has moved on: it is confirmed, to be shipped now "
        "(you saw: held for a person to review); look at it again"
    )

    shipped = await api.post(f"/api/orders/{order_id}/advance", json={"tracking_number": "1Z9"})
    assert shipped.json()["status"] == "SHIPPED"
    assert shipped.json()["tracking_number"] == "1Z9"
    late_cancel = await api.post(f"/api/orders/{order_id}/cancel")
    assert "already shipped" in error_of(late_cancel, 409)

    delivered = await api.post(f"/api/orders/{order_id}/advance")
    assert delivered.json()["status"] == "DELIVERED"
    after = await api.post(f"/api/orders/{order_id}/advance")
    # Refused by the workflow, or once it has closed by its last recorded status.
    assert error_of(after, 409) in {
        "the order is already delivered",
        "the order is delivered; there is nothing left to advance",
    }


async def test_a_repeated_action_acts_once(api: httpx.AsyncClient) -> None:
    order_id = (await api.post("/api/orders", json=body(customer="cus-rep"))).json()["order_id"]
    await until_status(api, order_id, "CONFIRMED")
    headers = {"Idempotency-Key": "ship-click-1"}
    first, second = await asyncio.gather(
        api.post(
            f"/api/orders/{order_id}/advance", json={"tracking_number": "T1"}, headers=headers
        ),
        api.post(
            f"/api/orders/{order_id}/advance", json={"tracking_number": "T1"}, headers=headers
        ),
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "SHIPPED"
    history = (await api.get(f"/api/orders/{order_id}")).json()["history"]
    assert [t["status"] for t in history].count("SHIPPED") == 1


async def test_cancel_compensates_and_answers_with_the_final_state(
    api: httpx.AsyncClient, db: Database
) -> None:
    order_id = (await api.post("/api/orders", json=body(quantity=3, customer="cus-cancel"))).json()[
        "order_id"
    ]
    await until_status(api, order_id, "CONFIRMED")
    response = await api.post(f"/api/orders/{order_id}/cancel", json={"reason": "changed mind"})
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["status"] == "CANCELLED"
    assert [r["amount_cents"] for r in state["refunds"]] == [5400]
    assert state["actions"] == []
    assert await Records(db).stock("MUG-01") == 100


async def test_unknown_orders_are_404(api: httpx.AsyncClient) -> None:
    for path in ("/api/orders/nope-123", "/api/orders/bad%20id"):
        assert "no order" in error_of(await api.get(path), 404)
    assert "no order" in error_of(await api.post("/api/orders/nope-123/advance"), 404)
    assert "no order" in error_of(await api.post("/api/orders/nope-123/cancel", json={}), 404)
    malformed = await api.post(
        "/api/orders/nope-123/advance", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert error_of(malformed, 422) == "the request body is not valid JSON"


# -- reading ----------------------------------------------------------------------------------


async def test_list_filters_and_pages_from_visibility(api: httpx.AsyncClient) -> None:
    ids = []
    for _ in range(3):
        ids.append(
            (await api.post("/api/orders", json=body(customer="cus-list"))).json()["order_id"]
        )
    grey = (
        await api.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4, customer="cus-list-2"))
    ).json()
    for order_id in ids:
        await until_status(api, order_id, "CONFIRMED")
    await until_status(api, grey["order_id"], "REVIEW")

    everything = await listed(api, "customer=cus-list", 3)
    assert {row["order_id"] for row in everything} == set(ids)
    assert all(row["status"] == "CONFIRMED" for row in everything)
    in_review = await listed(api, "status=REVIEW&customer=cus-list-2", 1)
    assert in_review[0]["risk_score"] == 40
    assert (await api.get("/api/orders?status=REVIEW&customer=cus-list")).json()["items"] == []
    assert (await api.get("/api/orders?escalated=true")).json()["items"] == []

    first = (await api.get("/api/orders?customer=cus-list&page_size=2")).json()
    assert len(first["items"]) == 2
    rest = (
        await api.get(
            f"/api/orders?customer=cus-list&page_size=2&page_token={first['next_page_token']}"
        )
    ).json()
    assert {r["order_id"] for r in first["items"] + rest["items"]} == set(ids)
    assert rest["next_page_token"] is None

    assert "status" in error_of(await api.get("/api/orders?status=LOST"), 422)
    assert "page_token" in error_of(await api.get("/api/orders?page_token=%%%"), 422)
    assert "page_token" in error_of(await api.get("/api/orders?page_token=bm90LWEtdG9rZW4="), 422)
    # A token is sealed: Temporal's own token inside it, unsealed or altered, is refused
    # without asking Temporal (which retries a token it cannot read for seconds).
    sealed = base64.urlsafe_b64decode(first["next_page_token"])
    for forged in (sealed[16:], bytes([sealed[0] ^ 1]) + sealed[1:]):
        token = base64.urlsafe_b64encode(forged).decode()
        answer = await api.get("/api/orders", params={"page_token": token})
        assert "not one this API handed out" in error_of(answer, 422)
    assert "customer" in error_of(await api.get("/api/orders?customer=x' OR 1=1"), 422)
    assert error_of(await api.get("/api/orders?page_size=1000"), 422)


async def test_metrics_count_statuses_and_read_the_ledger(api: httpx.AsyncClient) -> None:
    confirmed = (await api.post("/api/orders", json=body(quantity=2, customer="cus-m1"))).json()[
        "order_id"
    ]
    review = (
        await api.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4, customer="cus-m2"))
    ).json()["order_id"]
    waiting = (await api.post("/api/orders", json=body(sku="KETTLE-01", customer="cus-m3"))).json()[
        "order_id"
    ]
    cancelled = (await api.post("/api/orders", json=body(customer="cus-m4"))).json()["order_id"]
    await until_status(api, cancelled, "CONFIRMED")
    await api.post(f"/api/orders/{cancelled}/cancel")
    for order_id, status in (
        (confirmed, "CONFIRMED"),
        (review, "REVIEW"),
        (waiting, "AWAITING_STOCK"),
    ):
        await until_status(api, order_id, status)

    async def metrics() -> dict[str, Any]:
        found: dict[str, Any] = (await api.get("/api/metrics")).json()
        return found

    result = await eventually(
        metrics, lambda m: m["total"] == 4 and m["counts"]["CANCELLED"] == 1, timeout=30
    )
    assert result["counts"]["CONFIRMED"] == 1
    assert result["counts"]["REVIEW"] == 1
    assert result["counts"]["AWAITING_STOCK"] == 1
    assert result["created_today"] == 4
    assert result["waiting_for_a_person"] == 2
    assert result["open_escalations"] == 0
    assert result["revenue_cents"] == {"USD": 3600 + 5400 + 1800}
    assert result["refunds_cents"] == {"USD": 1800}

    # Prometheus reads the same counts.
    scraped = (await api.get("/metrics")).text
    for status, n in result["counts"].items():
        assert f'opsdesk_orders{{status="{status}"}} {float(n)}' in scraped
    assert "opsdesk_orders_waiting_for_a_person 2.0" in scraped


async def test_products_restock_and_wake_waiting_orders(api: httpx.AsyncClient) -> None:
    products = (await api.get("/api/products")).json()["items"]
    assert {p["sku"] for p in products} >= {"MUG-01", "KETTLE-01"}
    order_id = (
        await api.post("/api/orders", json=body(sku="KETTLE-01", customer="cus-stock"))
    ).json()["order_id"]
    await until_status(api, order_id, "AWAITING_STOCK")

    headers = {"Idempotency-Key": "delivery-77"}
    restocked = await api.post(
        "/api/inventory/KETTLE-01/restock", json={"quantity": 5}, headers=headers
    )
    assert restocked.status_code == 200, restocked.text
    assert restocked.json()["waiting_orders"] == [order_id]
    repeat = await api.post(
        "/api/inventory/KETTLE-01/restock", json={"quantity": 5}, headers=headers
    )
    assert repeat.json()["stock"] == restocked.json()["stock"] == 5
    await until_status(api, order_id, "CONFIRMED")
    kettle = [
        p for p in (await api.get("/api/products")).json()["items"] if p["sku"] == "KETTLE-01"
    ]
    assert kettle[0]["stock"] == 4

    assert "no product" in error_of(
        await api.post("/api/inventory/NOPE-1/restock", json={"quantity": 1}), 404
    )
    assert "quantity" in error_of(
        await api.post("/api/inventory/MUG-01/restock", json={"quantity": 0}), 422
    )


async def test_outbox_lists_messages_with_their_delivery_status(api: httpx.AsyncClient) -> None:
    order_id = (await api.post("/api/orders", json=body(customer="cus-outbox"))).json()["order_id"]

    async def messages() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (
            await api.get(f"/api/outbox?reference=order-{order_id}")
        ).json()["items"]
        return found

    [message] = await eventually(
        messages, lambda items: len(items) == 1 and items[0]["status"] != "queued"
    )
    assert message["template"] == "orders/confirmation"
    assert message["status"] == "not_sent"
    assert message["to"] == "ada@example.com"


async def test_events_announce_changed_orders(api: httpx.AsyncClient) -> None:
    async with api.stream("GET", "/api/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: ready"
        order_id = (await api.post("/api/orders", json=body(customer="cus-sse"))).json()["order_id"]

        seen: set[str] = set()
        while order_id not in seen:
            seen.update(await asyncio.wait_for(_next_orders_event(lines), 20))


async def test_events_announce_orders_changed_by_another_process(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Only visibility knows of a change made elsewhere (another API replica, the Temporal
    CLI, a worker's own timer): the feed's poller must find it there."""
    async with api.stream("GET", "/api/events") as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: ready"
        # Straight to Temporal, as the CLI or another replica would: this app never hears.
        request = order_request(customer_id="cus-elsewhere")
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        await handle.signal(OrderWorkflow.request_cancel, CancelRequest())

        seen: set[str] = set()
        while request.order_id not in seen:
            seen.update(await asyncio.wait_for(_next_orders_event(lines), 20))


async def _next_orders_event(lines: AsyncIterator[str]) -> list[str]:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "orders":
            ids: list[str] = json.loads(line.removeprefix("data: "))["ids"]
            return ids
    return []


# -- the shop webhook --------------------------------------------------------------------------


def sign(secret: str, body: bytes, at: float | None = None) -> str:
    """What the shop sends: the body signed with ``secret`` now (or ``at``)."""
    return signatures.sign(secret, body, int(time.time() if at is None else at))


async def test_webhook_is_signed_and_a_repeated_delivery_starts_nothing(
    api: httpx.AsyncClient, db: Database
) -> None:
    payload = json.dumps(body(customer="cus-shop", id="5001")).encode()
    headers = {"Content-Type": "application/json", "X-Opsdesk-Signature": sign(SECRET, payload)}

    first = await api.post("/api/webhooks/orders", content=payload, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["order_id"] == "shop-5001"
    assert first.json()["created"] is True
    again = await api.post("/api/webhooks/orders", content=payload, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**again.json(), "order_id": "shop-5001", "created": False}

    forged = await api.post(
        "/api/webhooks/orders",
        content=payload,
        headers={**headers, "X-Opsdesk-Signature": sign("wrong", payload)},
    )
    assert "X-Opsdesk-Signature" in error_of(forged, 401)
    unsigned = await api.post(
        "/api/webhooks/orders", content=payload, headers={"Content-Type": "application/json"}
    )
    assert error_of(unsigned, 401)
    tampered = payload.replace(b'"quantity": 1', b'"quantity": 9')
    assert error_of(await api.post("/api/webhooks/orders", content=tampered, headers=headers), 401)

    invalid = json.dumps(body(customer="cus-shop", id="5002", sku="bad sku")).encode()
    signed = {"Content-Type": "application/json", "X-Opsdesk-Signature": sign(SECRET, invalid)}
    assert "lines.0.sku" in error_of(
        await api.post("/api/webhooks/orders", content=invalid, headers=signed), 422
    )

    await until_status(api, "shop-5001", "CONFIRMED")
    assert len(await listed(api, "customer=cus-shop", 1)) == 1
    assert len(await Records(db).charges("shop-5001")) == 1


async def test_a_webhook_signed_outside_the_window_or_the_old_way_is_refused(
    api: httpx.AsyncClient,
) -> None:
    payload = json.dumps(body(customer="cus-late", id="6001")).encode()

    def post(signature: str) -> Awaitable[httpx.Response]:
        headers = {"Content-Type": "application/json", "X-Opsdesk-Signature": signature}
        return api.post("/api/webhooks/orders", content=payload, headers=headers)

    # A delivery captured and replayed ten minutes later: its signature is still valid.
    replayed = await post(sign(SECRET, payload, at=time.time() - 600))
    assert "outside the 300 s window" in error_of(replayed, 401)
    early = await post(sign(SECRET, payload, at=time.time() + 600))
    assert "far in the future" in error_of(early, 401)
    # The same timestamp on another body, and the scheme without a timestamp, prove nothing.
    now = int(time.time())
    borrowed = sign(SECRET, b"{}", at=now).split(",")[1]
    assert "does not match" in error_of(await post(f"t={now},{borrowed}"), 401)
    hex_only = signatures.sign(SECRET, payload, now).split("v1=")[1]
    assert "t=<unix seconds>" in error_of(await post(f"sha256={hex_only}"), 401)

    assert (await post(sign(SECRET, payload))).status_code == 201


async def test_two_secrets_are_active_while_one_is_rotated(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    # served_api makes SECRET the current secret; the old one is still active beside it.
    rotating = settings.model_copy(update={"webhook_secret_previous": SecretStr("whsec-old")})
    async with served_api(dev_env, db, rotating) as http:
        for n, secret in enumerate(("whsec-old", SECRET)):
            payload = json.dumps(body(customer="cus-rot", id=f"700{n}")).encode()
            sent = await http.post(
                "/api/webhooks/orders",
                content=payload,
                headers={"X-Opsdesk-Signature": sign(secret, payload)},
            )
            assert sent.status_code == 201, sent.text
        payload = json.dumps(body(customer="cus-rot", id="7009")).encode()
        retired = await http.post(
            "/api/webhooks/orders",
            content=payload,
            headers={"X-Opsdesk-Signature": sign("whsec-older", payload)},
        )
        assert error_of(retired, 401)


async def test_webhook_without_a_secret_is_unavailable(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    async with serve_http(create_app(settings, dev_env.client)) as http:
        payload = json.dumps(body(id="1")).encode()
        response = await http.post(
            "/api/webhooks/orders",
            content=payload,
            headers={"X-Opsdesk-Signature": sign("", payload)},
        )
    assert "OPSDESK_WEBHOOK_SECRET" in error_of(response, 503)


async def test_a_stuck_order_says_so_at_once(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A workflow whose task keeps failing (here: started from the CLI with input that
    does not decode) cannot answer a query; the API says what it knows instead of waiting
    for the query to time out and answering 502."""
    await dev_env.client.start_workflow(
        "OrderWorkflow",
        {"request": {"order_id": "stuck-1"}},
        id="order-stuck-1",
        task_queue=settings.orders_task_queue,
    )

    async def detail() -> dict[str, Any]:
        response = await api.get("/api/orders/stuck-1", timeout=10)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    stuck = await eventually(detail, lambda found: found.get("stuck") is True)
    assert stuck["status"] == "PENDING" or stuck["status"] is None
    assert stuck["attempts"] >= 2
    assert "validation error" in stuck["reason"].lower(), stuck["reason"]
    assert stuck["temporal_url"].endswith("/workflows/order-stuck-1")
