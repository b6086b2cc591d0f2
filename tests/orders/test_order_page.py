"""One order's page and its comments over real HTTP (uvicorn on loopback, a worker on the dev
server, real SQLite): the risk panel says what the score led to under the order's policy,
comments are added once per key and refused readably, and a cancel asks before it acts."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from opsdesk.access.roles import Role
from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.orders.helpers import body, error_of, served_api, until_status
from tests.staff import token_for

HTML = {"Accept": "text/html"}


async def test_the_risk_panel_says_what_the_score_led_to(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        # 5 + 45 (large) + 15 (new customer) + 25 (billing abroad) = 90: rejected outright.
        rejected = await site.post(
            "/api/orders", json=body(sku="BIKE-CITY", quantity=2, billing_country="US")
        )
        # 5 + 20 (sizeable) + 15 (new customer) = 40: a person reviews it.
        review = await site.post("/api/orders", json=body(sku="LAMP-DESK", quantity=4))
        rejected_id, review_id = rejected.json()["order_id"], review.json()["order_id"]
        assert (await until_status(site, rejected_id, "REJECTED"))["risk"]["score"] == 90
        assert (await until_status(site, review_id, "REVIEW"))["risk"]["score"] == 40

        page = (await site.get(f"/orders/{rejected_id}", headers=HTML)).text
        assert "Score 90 of 100: at or above 80, so the order was rejected." in page
        assert "recommended approve" not in page
        page = (await site.get(f"/orders/{review_id}", headers=HTML)).text
        assert (
            "Score 40 of 100: between 40 and 79, so the order was held for a person to review."
            in page
        )
        assert "recommended" not in page


async def test_comments_on_an_order(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        order_id = (await site.post("/api/orders", json=body())).json()["order_id"]
        path = f"/api/orders/{order_id}/comments"
        assert (await site.get(path)).json() == {"items": []}

        first = await site.post(
            path,
            json={"body": "  Customer asked for gift wrap  "},
            headers={"Idempotency-Key": "c1"},
        )
        assert first.status_code == 201, first.text
        again = await site.post(
            path, json={"body": "Customer asked for gift wrap"}, headers={"Idempotency-Key": "c1"}
        )
        assert again.status_code == 200
        assert again.json() == first.json()
        comment = first.json()
        assert (comment["author"], comment["body"]) == ("ops", "Customer asked for gift wrap")
        other = await site.post(
            path, json={"body": "Not the same"}, headers={"Idempotency-Key": "c1"}
        )
        assert "already used for a different comment" in error_of(other, 409)
        [listed] = (await site.get(path)).json()["items"]
        assert listed["id"] == comment["id"]

        assert "write something first" in error_of(await site.post(path, json={"body": " "}), 422)
        assert "write something first" in error_of(await site.post(path), 422)
        too_long = await site.post(path, json={"body": "x" * 2001})
        assert "at most 2000 characters; this one has 2001" in error_of(too_long, 422)
        assert "no order" in error_of(await site.get("/api/orders/nope-1/comments"), 404)
        missing = await site.post("/api/orders/nope-1/comments", json={"body": "hello"})
        assert "no order" in error_of(missing, 404)
        gone = await site.post("/api/maintenance/requests/MR-NOPE/comments", json={"body": "x"})
        assert "no maintenance request" in error_of(gone, 404)

        viewer = {"Authorization": f"Bearer {await token_for(db, Role.VIEWER, 'auditor')}"}
        assert (await site.get(path, headers=viewer)).status_code == 200
        assert (await site.post(path, json={"body": "hi"}, headers=viewer)).status_code == 403

        # The page's form: the same key twice adds one comment, shown in the timeline.
        form = {"body": "Called the customer", "idempotency_key": "form-key-1"}
        for _ in range(2):
            posted = await site.post(f"/orders/{order_id}/comments", data=form, headers=HTML)
            assert posted.status_code == 303
            assert posted.headers["location"] == f"/orders/{order_id}#comments"
        assert [c["body"] for c in (await site.get(path)).json()["items"]] == [
            "Customer asked for gift wrap",
            "Called the customer",
        ]
        page = (await site.get(f"/orders/{order_id}", headers=HTML)).text
        assert "Called the customer" in page
        empty = await site.post(f"/orders/{order_id}/comments", data={"body": ""}, headers=HTML)
        assert empty.status_code == 422
        assert "Comment: write something first; it is empty." in empty.text


async def test_a_cancel_asks_first_and_says_what_it_will_do(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    async with served_api(dev_env, db, settings) as site:
        order_id = (await site.post("/api/orders", json=body(quantity=3))).json()["order_id"]
        await until_status(site, order_id, "CONFIRMED")
        confirm = await site.get(
            f"/orders/{order_id}/cancel", headers={**HTML, "Referer": f"{site.base_url}/"}
        )
        assert confirm.status_code == 200
        page = confirm.text
        assert "The payment of 54.00 USD is refunded in full to the customer&#39;s card." in page
        assert "The 3 items set aside for it go back into stock" in page
        assert "Ada Lovelace (ada@example.com) is emailed that the order is cancelled" in page
        assert 'name="back" value="/"' in page
        # Asking changed nothing.
        assert (await site.get(f"/api/orders/{order_id}")).json()["status"] == "CONFIRMED"

        done = await site.post(
            f"/orders/{order_id}/cancel",
            data={"reason": "customer called", "back": "/", "idempotency_key": "k-cancel"},
            headers=HTML,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/"
        assert (await site.get(f"/api/orders/{order_id}")).json()["status"] == "CANCELLED"
        late = await site.get(f"/orders/{order_id}/cancel", headers=HTML)
        assert "It can no longer be cancelled: the order is already cancelled." in late.text
