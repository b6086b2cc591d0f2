"""Error answers over HTTP: a 422 names what to fix, the body included; programs get the
JSON shape and browsers a page. None of these reach Temporal, so none needs it running."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.web.errors import install
from tests.http import served
from tests.orders.helpers import body, error_of


async def test_a_body_that_is_not_an_object_is_named(http: httpx.AsyncClient) -> None:
    message = error_of(await http.post("/api/orders", json=[1, 2]), 422)
    assert message.startswith("body: "), message


async def test_a_missing_body_or_field_is_named(http: httpx.AsyncClient) -> None:
    assert error_of(await http.post("/api/orders"), 422) == "body: a JSON body is required"
    restock = await http.post("/api/inventory/MUG-01/restock")
    assert error_of(restock, 422) == "body: a JSON body is required"

    # A field inside the body, by its dotted path.
    order = body()
    del order["customer"]["email"]
    del order["shipping_address"]["city"]
    response = await http.post("/api/orders", json=order)
    assert error_of(response, 422) == (
        "customer.email: Field required; shipping_address.city: Field required"
    )
    assert response.json()["error"]["details"]["errors"] == [
        "customer.email: Field required",
        "shipping_address.city: Field required",
    ]
    order = body()
    order["lines"][0]["quantity"] = 0
    assert error_of(await http.post("/api/orders", json=order), 422).startswith(
        "lines.0.quantity: "
    )


async def test_a_rule_about_the_whole_body_says_which_fields(http: httpx.AsyncClient) -> None:
    order = body()
    order["lines"] = [{"sku": "MUG-01", "quantity": 1}, {"sku": "MUG-01", "quantity": 2}]
    assert (
        error_of(await http.post("/api/orders", json=order), 422)
        == "each sku may appear on one line only: MUG-01"
    )


async def test_browsers_get_pages_and_programs_json(http: httpx.AsyncClient) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await http.get("/no/such/page", headers=browser)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no/such/page." in page.text
    assert 'href="/"' in page.text

    # An id that can never be an order is refused before Temporal is asked.
    order = await http.get("/orders/not%20an%20id", headers=browser)
    assert order.status_code == 404
    assert "No order &#39;not an id&#39;." in order.text

    program = await http.get("/no/such/page", headers={"Accept": "application/json"})
    assert error_of(program, 404) == "Not Found"
    api = await http.get("/api/no/such/route", headers=browser)
    assert error_of(api, 404) == "Not Found"


async def test_the_favicon_is_there(http: httpx.AsyncClient) -> None:
    icon = await http.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


async def test_a_temporal_call_that_ran_out_of_time_is_a_503_to_retry() -> None:
    """An update or query whose worker died mid-call gives up on its own deadline; the
    client is told to retry (with the same key), not that something broke (the drill met
    both as 500 and 502 before)."""
    app = FastAPI()
    install(app)

    @app.post("/api/update")
    async def update() -> None:
        raise WorkflowUpdateRPCTimeoutOrCancelledError()

    @app.get("/api/query")
    async def query() -> None:
        raise RPCError("Timeout expired", RPCStatusCode.CANCELLED, b"")

    @app.post("/api/cut-off")
    async def cut_off() -> None:
        # What a call in flight meets when the Temporal server is killed (the drill saw
        # it as a 502 under load).
        raise RPCError("transport error", RPCStatusCode.UNKNOWN, b"")

    async with served(app) as url, httpx.AsyncClient(base_url=url) as http:
        for answer in (
            await http.post("/api/update"),
            await http.get("/api/query"),
            await http.post("/api/cut-off"),
        ):
            assert error_of(answer, 503)
            assert answer.headers["Retry-After"] == "1"
        assert "same Idempotency-Key" in error_of(await http.post("/api/update"), 503)
